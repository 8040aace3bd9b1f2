"""Issue 22 on `aws_config_resources`: a second refresh of the same rows writes no Redis field, no DynamoDB item
and no S3 copy; a changed resource is one write and one change record with its field diff."""

from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.stores.history_store import ChangeHistory

from .helpers import all_accounts_tags, config_row, injected_source, materializations, refresh


def test_a_second_refresh_writes_only_what_changed(accounts_ready, demo_org, instance, redis_client):
    a = demo_org.member_account_ids[0]
    bucket = config_row(a, "us-east-1", "AWS::S3::Bucket", "logs", configuration={"name": "logs", "versioning": "Off"})
    tags = all_accounts_tags(instance)
    assert refresh(instance, injected_source({(a, "us-east-1"): [bucket]}), tags=tags).success
    again = materializations(refresh(instance, injected_source({(a, "us-east-1"): [bucket]}), tags=tags))
    meta = {k: getattr(v, "value", v) for k, v in again[a].metadata.items()}
    assert (meta["redis_fields_written"], meta["dynamodb_items_written"], meta["s3_puts"]) == (0, 0, 0)

    versioned = {**bucket, "configuration": {"name": "logs", "versioning": "Enabled"}}
    changed = materializations(refresh(instance, injected_source({(a, "us-east-1"): [versioned]}), tags=tags))
    meta = {k: getattr(v, "value", v) for k, v in changed[a].metadata.items()}
    assert (meta["redis_fields_written"], meta["dynamodb_items_written"], meta["s3_puts"]) == (1, 1, 1)
    [record] = ChangeHistory(ConsoleMeResource().caches()).read(bucket["arn"])
    assert (record["change"], record["kind"]) == ("changed", "config_resource")
    assert {"path": "configuration.versioning", "op": "changed", "old": "Off", "new": "Enabled"} in record["diff"]
