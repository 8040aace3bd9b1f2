"""Sending alerts and metrics to AWS: an SNS topic and CloudWatch (the observability sensors pass what to send)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .arns import NotAnArn, parse_arn
from .sessions import AwsSessions

CLOUDWATCH_BATCH = 500  # PutMetricData takes up to 1,000 data points a call; stay well under its 1 MB body cap


def sns_publisher(sessions: AwsSessions, topic_arn: str) -> Callable[[str, str], None]:
    """(subject, message) -> published to the topic, through a client in the topic's region (from its ARN)."""
    try:
        arn = parse_arn(topic_arn)
    except NotAnArn:
        arn = None
    if arn is None or arn.service != "sns" or not arn.region:
        raise ValueError(f"consoleme_assets.alerts.sns_topic_arn is not an SNS topic ARN: {topic_arn!r}")
    client = sessions.client("sns", region=arn.region)

    def publish(subject: str, message: str) -> None:
        client.publish(TopicArn=topic_arn, Subject=subject, Message=message)

    return publish


def cloudwatch_putter(sessions: AwsSessions) -> Callable[[str, list[dict[str, Any]]], None]:
    """(namespace, metric data) -> PutMetricData, in batches CloudWatch accepts."""
    client = sessions.client("cloudwatch")

    def put(namespace: str, data: list[dict[str, Any]]) -> None:
        for start in range(0, len(data), CLOUDWATCH_BATCH):
            client.put_metric_data(Namespace=namespace, MetricData=data[start : start + CLOUDWATCH_BATCH])

    return put
