"""Role changes (spec §5.19/§5.20): the sensor reads the sandbox's seeded queue on the moto server, the batch job
writes the roles to redis-server and DynamoDB, and only then are their messages gone."""

import json

import boto3
import dagster as dg
import pytest

from consoleme_assets.iam.jobs import role_changes_job
from consoleme_assets.iam.sensors import credential_mapping_after_role_changes, role_change_sensor
from consoleme_assets.sandbox.events import role_change_event, sns_envelope
from consoleme_assets.stores.dynamo_store import from_dynamo

ENTRY_FIELDS = {"arn", "name", "resourceId", "accountId", "ttl", "policy", "permissions_boundary", "templated"}


def queue_counts(demo_org) -> tuple[int, int]:
    """(visible, in flight) messages of the role-change queue."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=demo_org.role_change_queue.rsplit(":", 1)[-1])["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def send(demo_org, *bodies) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=demo_org.role_change_queue.rsplit(":", 1)[-1])["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def tick(instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return role_change_sensor(context), context


def skipped(result) -> str | None:
    """The skip message of a sensor result (a SkipReason or a SensorResult), None if it requested runs."""
    if isinstance(result, dg.SkipReason):
        return result.skip_message
    return result.skip_reason.skip_message if result.skip_reason else None


def dynamo_item(arn, account):
    item = (
        boto3.resource("dynamodb")
        .Table("consoleme_iamroles_global")
        .get_item(Key={"arn": arn, "accountId": account})
        .get("Item")
    )
    return None if item is None else from_dynamo(item)


@pytest.mark.fresh_demo_org  # judges the seeded events' lag against the clock
def test_seeded_events_become_one_run_and_messages_go_only_after_their_roles_landed(
    accounts_ready, demo_org, instance, resources, redis_client, capfd
):
    assert queue_counts(demo_org) == (5, 0)
    result, _ = tick(instance, resources)
    (request,) = result.run_requests
    roles = request.run_config["ops"]["refresh_changed_roles"]["config"]["roles"]
    assert sorted(r["role_arn"] for r in roles) == sorted(demo_org.role_changes)
    assert all(len(r["receipt_handles"]) == 1 and r["event_time"] for r in roles)
    # The three messages naming no refreshable role are deleted and logged, naming queue and reason.
    assert queue_counts(demo_org) == (0, 2)
    warnings = [line for line in capfd.readouterr().err.splitlines() if " - WARNING - " in line]
    assert sum(demo_org.role_change_queue in w and "deleted unprocessed" in w for w in warnings) == 3, warnings
    assert any("event has no detail object" in w for w in warnings)
    assert any("account 999999999999 is not an aws_accounts partition" in w for w in warnings)
    assert any("body is not JSON" in w for w in warnings)
    assert not redis_client.exists("IAM_ROLE_CACHE")  # nothing written before the run

    run = role_changes_job.execute_in_process(run_config=request.run_config, instance=instance, resources=resources)
    assert run.success
    assert queue_counts(demo_org) == (0, 0)
    written = {}
    for arn in demo_org.role_changes:
        account, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
        real = next(a for a in demo_org.roles[account] if a.rsplit("/", 1)[-1] == name)  # with its path
        entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", real))
        assert set(entry) == ENTRY_FIELDS and entry["accountId"] == account and entry["name"] == name
        assert entry["permissions_boundary"] == {} and "RoleName" not in json.loads(entry["policy"])
        assert dynamo_item(real, account) == entry
        written[real] = entry
    assert any("/service/" in arn for arn in written)  # demo-worker: the event's ARN has no path, IAM's has
    meta = next(e for e in run.all_events if e.is_successful_output).event_specific_data.metadata
    assert meta["roles_refreshed"].value == 2 and meta["messages_deleted"].value == 2
    assert meta["roles_with_event_time"].value == 2 and 0 <= meta["max_lag_seconds"].value < 120
    assert meta["median_lag_seconds"].value <= meta["max_lag_seconds"].value
    assert {v["action"] for v in meta["roles"].value.values()} == {"updated"}

    again, _ = tick(instance, resources)
    assert skipped(again) == "queue consoleme-role-changes is empty"


def test_coalesces_repeated_events_and_waits_for_the_batch_in_flight(accounts_ready, demo_org, instance, resources):
    tick(instance, resources)  # takes the seeded messages (left in flight)
    member = demo_org.member_account_ids[0]
    send(
        demo_org,
        *[role_change_event(member, "demo-admin") for _ in range(3)],
        sns_envelope(role_change_event(member, "demo-readonly"), "arn:aws:sns:us-east-1:123456789012:t"),
    )
    busy = instance.create_run_for_job(
        role_changes_job,
        run_config={"ops": {"refresh_changed_roles": {"config": {"roles": []}}}},
        status=dg.DagsterRunStatus.STARTED,
    )
    result, _ = tick(instance, resources)
    assert skipped(result) == f"batch run {busy.run_id} is not finished yet"
    instance.report_run_failed(busy)
    result, _ = tick(instance, resources)
    (request,) = result.run_requests
    roles = {r["role_arn"]: r for r in request.run_config["ops"]["refresh_changed_roles"]["config"]["roles"]}
    assert set(roles) == {f"arn:aws:iam::{member}:role/demo-admin", f"arn:aws:iam::{member}:role/demo-readonly"}
    assert len(roles[f"arn:aws:iam::{member}:role/demo-admin"]["receipt_handles"]) == 3


def test_gone_roles_are_removed_or_not_found_and_the_mapping_follows(
    accounts_ready, demo_org, instance, resources, redis_client, member_client, refresh_iam
):
    member = demo_org.member_account_ids[0]
    iam = member_client(member, "iam")
    iam.create_role(
        RoleName="short-lived",
        AssumeRolePolicyDocument=json.dumps({"Statement": []}),
        Tags=[{"Key": "consoleme-authorized", "Value": "groupz@example.com"}],
    )
    send(demo_org, role_change_event(member, "short-lived", "CreateRole"))
    tick(instance, resources)  # the seeded batch, not run: its messages stay in flight

    def mapping_sensor(run):
        with dg.build_run_status_sensor_context(
            sensor_name=credential_mapping_after_role_changes.name,
            dagster_instance=instance,
            resources=resources,
            dagster_event=run.get_run_success_event(),
            dagster_run=run.dagster_run,
        ) as ctx:
            return credential_mapping_after_role_changes(ctx)

    arn = f"arn:aws:iam::{member}:role/short-lived"

    def run_batch(body):
        send(demo_org, body)
        result, _ = tick(instance, resources)
        (request,) = result.run_requests
        run = role_changes_job.execute_in_process(run_config=request.run_config, instance=instance, resources=resources)
        assert run.success
        return run, next(e for e in run.all_events if e.is_successful_output).event_specific_data.metadata

    run, meta = run_batch(role_change_event(member, "short-lived", "TagRole"))
    assert meta["roles"].value[arn]["action"] == "updated" and redis_client.hexists("IAM_ROLE_CACHE", arn)
    skip = mapping_sensor(run)  # no IAM refresh yet: the cache holds only what events wrote
    assert isinstance(skip, dg.SkipReason) and "no account refreshed yet" in skip.skip_message, skip
    assert refresh_iam().success
    request = mapping_sensor(run)
    assert request.run_key == f"after-role-changes:{run.run_id}"

    iam.delete_role(RoleName="short-lived")
    _, meta = run_batch(role_change_event(member, "short-lived", "DeleteRole"))
    assert meta["roles"].value[arn]["action"] == "removed"
    assert not redis_client.hexists("IAM_ROLE_CACHE", arn) and dynamo_item(arn, member) is None
    _, meta = run_batch(role_change_event(member, "never-existed", "DeleteRole"))
    assert meta["roles"].value[f"arn:aws:iam::{member}:role/never-existed"]["action"] == "not found"

    redis_client.delete("IAM_ROLE_CACHE")
    skip = mapping_sensor(run)
    assert isinstance(skip, dg.SkipReason) and "IAM_ROLE_CACHE is empty" in skip.skip_message

    # Redis flushed after a full refresh, then one role event: the mapping waits for the refill.
    redis_client.flushall()
    run, _ = run_batch(role_change_event(member, "demo-admin", "TagRole"))
    assert redis_client.hlen("IAM_ROLE_CACHE") == 1
    skip = mapping_sensor(run)
    assert isinstance(skip, dg.SkipReason) and "iam_resources is incomplete" in skip.skip_message, skip
    assert "refreshed account(s) gone" in skip.skip_message


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            "celery: {trigger_credential_mapping_refresh_from_role_changes: {enabled: false}}",
            "role changes are off (celery.trigger_credential_mapping_refresh_from_role_changes.enabled is not true)",
        ),
        (
            "event_bridge: {detect_role_changes_and_update_cache: {queue_arn: 'arn:aws:sqs:{region}:123456789012:nope'}}",
            "SQS queue arn:aws:sqs:us-east-1:123456789012:nope: GetQueueUrl: ",
        ),
        (
            "event_bridge: {detect_role_changes_and_update_cache: {queue_arn: 'sqs-queue'}}",
            "event_bridge.detect_role_changes_and_update_cache.queue_arn: queue ARN 'sqs-queue' is not arn:",
        ),
    ],
)
def test_configuration_problems_skip_naming_the_key_or_queue_and_log_once(
    accounts_ready, demo_org, instance, tmp_path, monkeypatch, sandbox_env, override, expected, capfd
):
    from consoleme_assets.definitions import build_resources

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"extends: [{sandbox_env['CONSOLEME_ASSETS_CONFIG']}]\n{override}\n")
    monkeypatch.setenv("CONSOLEME_ASSETS_CONFIG", str(cfg))
    result, context = tick(instance, build_resources())
    assert skipped(result).startswith(expected), skipped(result)
    if "are off" not in expected:
        assert "NonExistentQueue" in skipped(result) or "is not arn:" in skipped(result)
        errors = [line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]
        assert len(errors) == 1 and errors[0].endswith(" - ERROR - " + skipped(result)), errors
        again, _ = tick(instance, build_resources(), cursor=result.cursor)
        assert skipped(again) == skipped(result)
        assert " - ERROR - " not in capfd.readouterr().err  # logged when it appears, not on every tick
    assert queue_counts(demo_org) == (5, 0)  # nothing received
