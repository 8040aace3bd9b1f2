"""Role changes when AWS says no: AccessDenied on the queue skips the tick naming the queue; a role IAM refuses to
read fails the batch naming it, while the other roles land and only their messages are deleted."""

import json

import boto3
import dagster as dg

from consoleme_assets.definitions import build_resources
from consoleme_assets.iam.jobs import role_changes_job
from consoleme_assets.iam.sensors import role_change_sensor


def queue_counts(demo_org) -> tuple[int, int]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=demo_org.role_change_queue.rsplit(":", 1)[-1])["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def tick(instance, resources):
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return role_change_sensor(context)


def test_access_denied_on_the_queue_skips_naming_it(fault_env, proxy, refresh, instance, demo_org, capfd):
    assert refresh(["aws_accounts"]) == []
    with proxy.injecting("access_denied", service="sqs", action="ReceiveMessage"):
        result = tick(instance, build_resources())
    message = result.skip_reason.skip_message
    assert message.startswith(f"SQS queue {demo_org.role_change_queue}: ReceiveMessage: AccessDenied"), message
    assert f" - ERROR - {message}" in capfd.readouterr().err
    assert queue_counts(demo_org) == (5, 0)
    assert tick(instance, build_resources()).run_requests  # once allowed again, the batch goes out


def test_a_role_iam_refuses_keeps_its_message_and_fails_the_run_naming_it(
    fault_env, proxy, refresh, instance, demo_org, redis_client
):
    assert refresh(["aws_accounts"]) == []
    (request,) = tick(instance, build_resources()).run_requests
    good, refused = demo_org.role_changes
    with proxy.injecting("access_denied", service="iam", action="GetRole", account=refused.split(":")[4]):
        result = role_changes_job.execute_in_process(
            run_config=request.run_config, instance=instance, resources=build_resources(), raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert failure.description.startswith(
        f"1 of 2 role(s) not refreshed (their messages stay queued and come back "
        f"after the visibility timeout): {refused}: GetRole: AccessDenied"
    )
    assert failure.metadata["roles_refreshed"].value == 1 and failure.metadata["messages_deleted"].value == 1
    assert list(failure.metadata["failures"].value) == [refused]
    assert json.loads(redis_client.hget("IAM_ROLE_CACHE", good))["arn"] == good
    assert not any(arn.endswith("/" + refused.rsplit("/", 1)[-1]) for arn in redis_client.hkeys("IAM_ROLE_CACHE"))
    assert queue_counts(demo_org) == (0, 1)  # the refused role's message waits for its visibility timeout
