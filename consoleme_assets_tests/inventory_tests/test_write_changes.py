"""Issue 22 on the per-account lists: an unchanged refresh writes nothing but its stamp, a new bucket is one field
write and one change record, the combined file is written only when an account changed, and the guard holds a
list that lost most of its items."""

import dagster as dg

from consoleme_assets.inventory import datasets as inventory_datasets
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.stores.history_store import ChangeHistory

from .test_s3_buckets import all_accounts_tags, member_s3, refresh


def metadata(result) -> dict[str, dict]:
    return {
        e.event_specific_data.materialization.partition: {
            k: getattr(v, "value", v) for k, v in e.event_specific_data.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }


def test_only_what_changed_is_written_and_recorded(accounts_ready, demo_org, instance, resources, redis_client):
    tags = all_accounts_tags(instance)
    assert refresh(instance, resources, tags=tags).success
    unchanged = metadata(refresh(instance, resources, tags=tags))
    assert {(m["redis_fields_written"], m["s3_puts"]) for m in unchanged.values()} == {(0, 0)}
    assert "combined_s3_uris" not in list(unchanged.values())[-1]

    member = demo_org.member_account_ids[0]
    member_s3(demo_org, member).create_bucket(Bucket="brand-new-bucket")
    result = refresh(instance, resources, tags=tags)
    changed = metadata(result)
    assert (changed[member]["redis_fields_written"], changed[member]["s3_puts"]) == (1, 1)
    assert changed[member]["changes"] == {"added": 1, "removed": 0}
    assert sum(m["redis_fields_written"] for a, m in changed.items() if a != member) == 0
    assert list(changed.values())[-1]["combined_s3_uris"]  # an account changed: the combined file follows
    [record] = ChangeHistory(ConsoleMeResource().caches()).read("brand-new-bucket")
    assert (record["change"], record["kind"], record["account"], record["cause"]["type"]) == (
        "added",
        "bucket",
        member,
        "ui",
    )


def test_the_guard_holds_a_list_that_lost_most_of_its_items(
    accounts_ready, demo_org, instance, resources, redis_client, monkeypatch
):
    member = demo_org.member_account_ids[0]
    s3 = member_s3(demo_org, member)
    for i in range(20):
        s3.create_bucket(Bucket=f"bulk-bucket-{i:02d}")
    tags = all_accounts_tags(instance)
    assert refresh(instance, resources, tags=tags).success
    cached = redis_client.hget("S3_BUCKETS", member)
    real = inventory_datasets.s3_bucket_names
    monkeypatch.setattr(
        inventory_datasets,
        "s3_bucket_names",
        lambda sessions, account_id: (
            real(sessions, account_id)[:2] if account_id == member else real(sessions, account_id)
        ),
    )
    result = refresh(instance, resources, tags=tags)
    assert not result.success
    assert redis_client.hget("S3_BUCKETS", member) == cached
    assert member not in metadata(result)
    status = instance.get_status_by_partition(
        dg.AssetKey("s3_buckets"), [member], dg.DynamicPartitionsDefinition(name="aws_accounts")
    )
    assert status[member] == dg.AssetPartitionStatus.FAILED
