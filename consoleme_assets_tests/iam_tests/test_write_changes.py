"""Issue 22 on `iam_resources`, against moto and redis-server: a refresh writes only what changed (and unchanged
entries before they age out), the publish guard keeps an account whose fetch lost most of its roles, and every
published change becomes a change record with its cause and a statement-level diff."""

import gzip
import json
import time

import boto3
import dagster as dg

from consoleme_assets.iam import refresh as iam_refresh
from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.stores.history_store import ChangeHistory

from .conftest import all_accounts_tags

STAMPS = "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED"


def materializations(result) -> dict[str, dict]:
    return {
        e.event_specific_data.materialization.partition: e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def value(meta, name):
    return getattr(meta.get(name), "value", None)


def role_items(account_id: str) -> dict[str, str]:
    table = boto3.resource("dynamodb").Table("consoleme_iamroles_global")
    return {
        i["arn"]: json.dumps(i, default=str, sort_keys=True)
        for i in table.scan()["Items"]
        if i["accountId"] == account_id
    }


def account_fields(redis_client, key: str, account_id: str) -> dict[str, str]:
    return {k: v for k, v in redis_client.hgetall(key).items() if f":{account_id}:" in k}


def history_of(arn: str) -> list[dict]:
    return ChangeHistory(ConsoleMeResource().caches()).read(arn)


def test_an_unchanged_refresh_writes_only_its_stamps(accounts_ready, refresh_iam, redis_client, demo_org):
    assert refresh_iam().success
    redis_client.hset(STAMPS, "IAM_ROLE_CACHE", 0)
    before = redis_client.hgetall("IAM_ROLE_CACHE")

    result = refresh_iam()
    assert result.success
    for account, meta in materializations(result).items():
        assert value(meta, "redis_fields_written") == 0, account
        assert value(meta, "dynamodb_items_written") == 0, account
        assert value(meta, "s3_puts") == 0, account
        changes = value(meta, "changes")
        assert (changes["added"], changes["changed"], changes["removed"]) == (0, 0, 0) and changes["unchanged"] > 0
    last = list(materializations(result).values())[-1]
    assert value(last, "run_changes") == {"added": 0, "changed": 0, "removed": 0}
    assert "combined_s3_uris" not in last  # no account changed: the cache_all_* files were written minutes ago
    assert redis_client.hgetall("IAM_ROLE_CACHE") == before  # every ttl as it was: nothing rewritten
    assert int(redis_client.hget(STAMPS, "IAM_ROLE_CACHE")) > time.time() - 60  # fresh, not stale
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values())


def test_unchanged_entries_are_rewritten_before_they_age_out(accounts_ready, refresh_iam, redis_client, demo_org):
    assert refresh_iam().success
    account = demo_org.member_account_ids[0]
    aged = time.time() + 10 * 3600  # written 26 h ago: less than half of its 36 h left
    for arn, raw in account_fields(redis_client, "IAM_ROLE_CACHE", account).items():
        redis_client.hset("IAM_ROLE_CACHE", arn, json.dumps({**json.loads(raw), "ttl": int(aged)}))
    renewed = account_fields(redis_client, "IAM_ROLE_CACHE", account)

    result = refresh_iam()
    assert result.success
    meta = materializations(result)
    assert value(meta[account], "redis_fields_written") == len(renewed)
    assert value(meta[account], "dynamodb_items_written") == len(renewed)
    assert value(meta[account], "changes")["changed"] == 0  # a renewal is no change...
    for arn, raw in account_fields(redis_client, "IAM_ROLE_CACHE", account).items():
        assert json.loads(raw)["ttl"] > time.time() + 35 * 3600, arn  # ...but the entry is written again
    other = demo_org.member_account_ids[1]
    assert value(meta[other], "redis_fields_written") == 0
    assert not history_of(next(iter(renewed)))


def test_a_changed_inline_policy_is_one_record_with_its_statement(
    accounts_ready, refresh_iam, redis_client, demo_org, member_client, instance
):
    assert refresh_iam().success
    account = demo_org.member_account_ids[0]
    arn = sorted(demo_org.roles[account])[0]
    name = arn.split("/")[-1]
    statement = {
        "Sid": "ReadReports",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::reports/*",
    }
    member_client(account, "iam").put_role_policy(
        RoleName=name,
        PolicyName="reports",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )

    result = refresh_iam(tags={**all_accounts_tags(instance), "dagster/schedule_name": "iam_every_45_minutes"})
    assert result.success
    meta = materializations(result)
    assert value(meta[account], "changes")["changed"] == 1
    assert value(meta[account], "redis_fields_written") == 1 and value(meta[account], "dynamodb_items_written") == 1
    # Only the files holding roles: the account's GAAD and roles files, and the combined roles file.
    written = sorted(uri.rsplit("/", 1)[-1] for uri in value(meta[account], "s3_uris"))
    assert len(written) == 2 and any("authorization_details" in u for u in written), written
    assert value(meta[account], "s3_unchanged") == 3  # its users, groups and policies files
    last = list(meta.values())[-1]
    assert value(last, "run_changes") == {"added": 0, "changed": 1, "removed": 0}
    assert arn in value(last, "run_changes_table")
    [combined] = value(last, "combined_s3_uris")  # a role changed: the combined roles file, and only it
    assert "role" in combined.rsplit("/", 1)[-1], combined

    [record] = history_of(arn)
    assert (record["change"], record["kind"], record["dataset"], record["account"]) == (
        "changed",
        "role",
        "iam_resources",
        account,
    )
    assert record["cause"] == {"type": "schedule", "schedule": "iam_every_45_minutes", "run_id": result.run_id}
    [entry] = record["diff"]
    assert entry["op"] == "added" and entry["path"] == "policy.RolePolicyList[reports]"
    assert entry["new"]["PolicyDocument"]["Statement"][0]["Sid"] == "ReadReports"
    assert record["old_hash"] != record["new_hash"]


def test_the_guard_keeps_an_account_that_lost_most_of_its_roles(
    accounts_ready, refresh_iam, redis_client, demo_org, member_client, monkeypatch, resources, instance
):
    account = demo_org.member_account_ids[0]
    iam = member_client(account, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for i in range(50 - len(demo_org.roles[account])):
        iam.create_role(RoleName=f"bulk-{i:02d}", AssumeRolePolicyDocument=trust)
    assert refresh_iam().success
    cached = account_fields(redis_client, "IAM_ROLE_CACHE", account)
    assert len(cached) == 50
    items, others = role_items(account), demo_org.member_account_ids[1]
    real = iam_refresh.account_authorization_details

    def partial(sessions, account_id):  # AWS answered partially (a paging fault): 2 of the 50 roles
        gaad = real(sessions, account_id)
        if account_id == account:
            gaad["RoleDetailList"] = gaad["RoleDetailList"][:2]
        return gaad

    monkeypatch.setattr(iam_refresh, "account_authorization_details", partial)
    redis_client.hset(STAMPS, "IAM_ROLE_CACHE", 0)
    # The faulted account and a neighbour only: the rest of the organisation adds time, not evidence.
    keys = instance.get_dynamic_partitions("aws_accounts")
    first, last = sorted((keys.index(account), keys.index(others)))
    both = {"dagster/asset_partition_range_start": keys[first], "dagster/asset_partition_range_end": keys[last]}
    in_range = set(keys[first : last + 1])
    result = refresh_iam(tags=both)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert f"account {account}: iam_resources: the fresh fetch would remove 48 of its" in failure
    assert "--accept-removals" in failure
    assert account_fields(redis_client, "IAM_ROLE_CACHE", account) == cached  # byte for byte
    assert role_items(account) == items
    assert set(materializations(result)) == in_range - {account}  # the others landed
    assert others in materializations(result)
    status = instance.get_status_by_partition(
        dg.AssetKey("iam_resources"), [account], dg.DynamicPartitionsDefinition(name="aws_accounts")
    )
    assert status[account] == dg.AssetPartitionStatus.FAILED

    accepted = refresh_iam(tags=both, run_config={"ops": {"iam_resources": {"config": {"accept_removals": [account]}}}})
    assert accepted.success
    assert len(account_fields(redis_client, "IAM_ROLE_CACHE", account)) == 2
    removed = [r for arn in cached for r in history_of(arn) if r["change"] == "removed"]
    assert len(removed) == 48 and {r["cause"]["type"] for r in removed} == {"ui"}
    assert len(role_items(account)) == 2


def test_a_role_change_event_is_recorded_with_its_event_and_actor(
    accounts_ready, refresh_iam, demo_org, member_client, instance, resources
):
    from consoleme_assets.iam.jobs import role_changes_job
    from consoleme_assets.sandbox.events import role_change_event

    from .test_role_changes import send, tick

    assert refresh_iam().success  # the baseline
    tick(instance, resources)  # takes the seeded events out of the way (left in flight)
    member = demo_org.member_account_ids[0]
    arn = next(a for a in demo_org.roles[member] if a.endswith("/demo-admin"))
    before = {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}
    after = {"Sid": "Admin", "Effect": "Allow", "Action": ["*", "iam:PassRole"], "Resource": "*"}
    iam = member_client(member, "iam")
    for statement in (before, after):
        iam.put_role_policy(
            RoleName="demo-admin",
            PolicyName="inline",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        if statement is before:
            assert refresh_iam().success
    event = role_change_event(member, "demo-admin", "PutRolePolicy")
    send(demo_org, event)
    result, _ = tick(instance, resources)
    (request,) = result.run_requests
    run = role_changes_job.execute_in_process(run_config=request.run_config, instance=instance, resources=resources)
    assert run.success

    [record] = [r for r in history_of(arn) if r["cause"]["type"] == "role_change"]
    assert record["cause"]["event_ids"] == [event["detail"]["eventID"]]
    assert record["cause"]["actors"] == [event["detail"]["userIdentity"]["arn"]]
    assert record["cause"]["run_id"] == run.run_id and record["cause"]["event_time"]
    [entry] = record["diff"]  # the statement, nothing of the two role formats differences
    assert entry["path"] == "policy.RolePolicyList[inline].PolicyDocument.Statement[Admin]"
    assert entry["fields"] == {"Action": {"added": ["iam:PassRole"], "removed": []}}
    meta = next(e for e in run.all_events if e.is_successful_output).event_specific_data.metadata
    assert meta["run_changes"].value == {"added": 0, "changed": 1, "removed": 0}
    assert arn in meta["run_changes_table"].value

    # The next scheduled refresh writes the role in the account refresh's format: no change to record.
    records = len(history_of(arn))
    assert refresh_iam().success
    assert len(history_of(arn)) == records


def test_a_role_removed_by_a_role_change_leaves_the_combined_file(accounts_ready, refresh_iam, demo_org, member_client):
    """A role-change event for a deleted role removes it from IAM_ROLE_CACHE between refreshes; the next refresh
    finds nothing changed in its accounts (the role is gone on both sides) and must still rewrite
    cache_all_roles, which would otherwise list the deleted role until the file is renewed (12 h)."""
    from consoleme_assets.iam.datasets import iam_cache
    from consoleme_assets.iam.jobs import fetch_role, store_role

    account = demo_org.member_account_ids[0]
    iam = member_client(account, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    arn = iam.create_role(RoleName="short-lived", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    assert refresh_iam().success
    iam.delete_role(RoleName="short-lived")
    consoleme = ConsoleMeResource()
    assert store_role(consoleme, iam_cache(consoleme), arn, fetch_role(consoleme, arn)).action == "removed"

    result = refresh_iam()
    assert result.success
    meta = materializations(result)
    assert {a: value(m, "changes")["removed"] for a, m in meta.items()} == dict.fromkeys(meta, 0)
    [combined] = value(list(meta.values())[-1], "combined_s3_uris")
    bucket, key = combined.removeprefix("s3://").split("/", 1)
    assert "role" in key, combined
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert b"short-lived" not in (gzip.decompress(body) if key.endswith(".gz") else body), "a deleted role kept"
