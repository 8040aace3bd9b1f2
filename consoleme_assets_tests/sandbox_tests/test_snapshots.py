"""moto snapshots (moto_process.StateSnapshots), which the ``demo_org`` fixture restores for every test: a
restored organisation is the seeded one, in every account, whatever the test before it changed."""

from __future__ import annotations

from typing import Any

import pytest

from consoleme_assets.sandbox import DemoOrg, MotoServer

from .test_seed import _client


def _state(demo: DemoOrg) -> dict[str, Any]:
    member = demo.member_account_ids[0]
    iam = _client(demo, "iam", member)
    s3 = _client(demo, "s3", member)
    sqs = _client(demo, "sqs", demo.management_account_id, demo.org_role_name)
    queue = sqs.get_queue_url(QueueName=demo.role_change_queue.split(":")[5])["QueueUrl"]
    org = _client(demo, "organizations", demo.management_account_id, demo.org_role_name)
    bucket = demo.buckets[member][0]
    return {
        "accounts": sorted((a["Id"], a["Status"]) for a in org.list_accounts()["Accounts"]),
        "roles": sorted((r["Arn"], r["RoleId"]) for r in iam.list_roles()["Roles"]),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])),
        "messages": sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"],
    }


def test_restore_brings_back_the_seeded_org_after_changes_in_every_service(demo_org: DemoOrg, moto: MotoServer):
    seeded = _state(demo_org)
    member = demo_org.member_account_ids[0]
    iam = _client(demo_org, "iam", member)
    iam.create_role(RoleName="added-by-test", AssumeRolePolicyDocument="{}")
    s3 = _client(demo_org, "s3", member)
    s3.put_object(Bucket=demo_org.buckets[member][0], Key="added-by-test", Body=b"x" * 10_000)
    sqs = _client(demo_org, "sqs", demo_org.management_account_id, demo_org.org_role_name)
    queue = sqs.get_queue_url(QueueName=demo_org.role_change_queue.split(":")[5])["QueueUrl"]
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    changed = _state(demo_org)
    assert changed != seeded and changed["messages"] != seeded["messages"]

    moto.restore("demo_org")
    assert _state(demo_org) == seeded
    # A snapshot survives its restores (and the resets between them): S3 bodies included.
    s3.put_object(Bucket=demo_org.buckets[member][0], Key="again", Body=b"y")
    moto.snapshot("with-object")
    moto.reset()
    moto.restore("with-object")
    assert (
        _client(demo_org, "s3", member).get_object(Bucket=demo_org.buckets[member][0], Key="again")["Body"].read()
        == b"y"
    )
    moto.restore("demo_org")
    assert _state(demo_org) == seeded


def test_restoring_an_unknown_snapshot_is_an_error_naming_it(moto: MotoServer):
    with pytest.raises(RuntimeError, match="no-such-snapshot"):
        moto.restore("no-such-snapshot")
