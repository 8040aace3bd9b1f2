"""The one SQS module both queue consumers use (role changes, CloudTrail denies), against the moto server: batches
past SQS's ten, the queue's own visibility timeout or ours, deletes in tens, and every failure a QueueError
naming the queue."""

import boto3
import pytest
from botocore.stub import Stubber

from consoleme_assets.aws.sessions import AwsSessions
from consoleme_assets.aws.sqs import (
    QueueError,
    delete_messages,
    parse_queue_arn,
    queue_client,
    queue_url,
    receive_messages,
)
from consoleme_assets.settings import load_settings

HUB = "123456789012"  # moto's default account


def sessions_for(tmp_path, aws_env, extra=""):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(extra)
    return AwsSessions(load_settings(cfg, env=aws_env))


@pytest.fixture
def queue(moto, aws_env):
    """A fresh queue with a 30 s default visibility timeout; returns (ref, client, url)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="twins-test", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    return parse_queue_arn(f"arn:aws:sqs:us-east-1:{HUB}:twins-test"), sqs, url


def send(client, url, count):
    for i in range(count):
        client.send_message(QueueUrl=url, MessageBody=f"body-{i}")


def test_receives_past_ten_and_up_to_the_limit(tmp_path, aws_env, queue):
    ref, raw, url = queue
    send(raw, url, 13)
    client = queue_client(sessions_for(tmp_path, aws_env), ref, None)
    assert queue_url(client, ref) == url
    first = receive_messages(client, ref, url, 12, visibility_timeout=60)
    assert len(first) == 12 and len({m.message_id for m in first}) == 12
    assert all(m.body.startswith("body-") and m.receive_count == 1 and m.sent_at is not None for m in first)
    rest = receive_messages(client, ref, url, 12, visibility_timeout=60)
    assert len(rest) == 1  # the twelve stay invisible; the queue then answers with none and the loop stops


def test_visibility_timeout_is_ours_when_given_else_the_queues(tmp_path, aws_env, queue):
    ref, raw, url = queue
    send(raw, url, 2)
    client = queue_client(sessions_for(tmp_path, aws_env), ref, None)
    (shown,) = receive_messages(client, ref, url, 1, visibility_timeout=0)  # back at once
    again = receive_messages(client, ref, url, 10)  # the queue's 30 s: both now, then hidden
    assert shown.message_id in {m.message_id for m in again} and len(again) == 2
    assert [m for m in again if m.message_id == shown.message_id][0].receive_count == 2
    assert receive_messages(client, ref, url, 10) == []


def test_a_message_coming_round_again_is_returned_once(tmp_path, aws_env, queue):
    ref, raw, url = queue
    send(raw, url, 3)
    client = queue_client(sessions_for(tmp_path, aws_env), ref, None)
    messages = receive_messages(client, ref, url, 12, visibility_timeout=0)  # visible again at once
    assert sorted(m.body for m in messages) == ["body-0", "body-1", "body-2"]


def test_deletes_in_tens_and_reports_refused_deletes(tmp_path, aws_env, queue):
    ref, raw, url = queue
    send(raw, url, 12)
    client = queue_client(sessions_for(tmp_path, aws_env), ref, None)
    messages = receive_messages(client, ref, url, 12, visibility_timeout=60)
    assert len(messages) == 12
    assert delete_messages(client, ref, url, [m.receipt_handle for m in messages]) == []
    attrs = raw.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    assert delete_messages(client, ref, url, []) == []  # no empty batch sent (AWS rejects one)

    with Stubber(client) as stub:
        stub.add_response(
            "delete_message_batch",
            {
                "Successful": [{"Id": "0"}],
                "Failed": [{"Id": "1", "SenderFault": True, "Code": "ReceiptHandleIsInvalid", "Message": "expired"}],
            },
            {"QueueUrl": url, "Entries": [{"Id": "0", "ReceiptHandle": "a"}, {"Id": "1", "ReceiptHandle": "b"}]},
        )
        assert delete_messages(client, ref, url, ["a", "b"]) == ["ReceiptHandleIsInvalid: expired"]


def test_every_failure_is_a_queue_error_naming_the_queue(tmp_path, aws_env, moto):
    ref = parse_queue_arn(f"arn:aws:sqs:us-east-1:{HUB}:missing")
    client = queue_client(sessions_for(tmp_path, aws_env), ref, None)
    with pytest.raises(QueueError, match=f"^SQS queue {ref.arn}: GetQueueUrl: .*NonExistentQueue"):
        queue_url(client, ref)
    for call, args in ((receive_messages, (ref, "http://x/q", 1)), (delete_messages, (ref, "http://x/q", ["h"]))):
        with Stubber(client) as stub:
            operation = "receive_message" if call is receive_messages else "delete_message_batch"
            stub.add_client_error(operation, "AccessDenied", "not allowed", 403)
            with pytest.raises(QueueError, match=f"^SQS queue {ref.arn}: .*AccessDenied: not allowed$"):
                call(client, *args)

    refused = sessions_for(
        tmp_path, aws_env, "aws: {sts_endpoint_url: 'http://127.0.0.1:9'}\nconsoleme_assets: {aws_max_attempts: 1}\n"
    )
    with pytest.raises(QueueError) as err:  # the assume_role refused: still named with the queue
        queue_client(refused, ref, "QueueReader")
    assert str(err.value).startswith(
        f"SQS queue {ref.arn}: account {HUB}: cannot assume arn:aws:iam::{HUB}:role/QueueReader"
    )


def test_a_malformed_arn_is_a_value_error_naming_it():
    ref = parse_queue_arn("arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q.fifo")
    assert (ref.partition, ref.region, ref.account_id, ref.name) == ("aws-us-gov", "us-gov-west-1", HUB, "q.fifo")
    for bad in ("", None, "sqs-queue", "arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sqs:us-east-1:1:q"):
        with pytest.raises(ValueError, match=r"^queue ARN .* is not arn:<partition>:sqs:"):
            parse_queue_arn(bad)
