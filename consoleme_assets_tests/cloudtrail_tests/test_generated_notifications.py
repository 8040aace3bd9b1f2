"""CloudTrail error rows -> cloudtrail_generated_policy notifications (spec §5.22), without AWS, Redis or Dagster.

Expected formats are ConsoleMe's, read from Netflix/consoleme at 011b0102:
consoleme/lib/cloudtrail.py `CloudTrail.process_cloudtrail_errors` (id, request, link, targets, update rules) and
consoleme/lib/notifications/models.py `ConsoleMeUserNotification` (fields, order, types).
"""

import base64
import json
from decimal import Decimal
from urllib.parse import unquote

import pytest

from consoleme_assets.cloudtrail.denies import deny_item
from consoleme_assets.cloudtrail.generated_notifications import (
    DEFAULT_MESSAGE,
    Generated,
    generate_notifications,
    notification_changes,
    owners_from_cache_entries,
    principal_arns,
    self_service_uri,
)
from consoleme_assets.notifications.records import notification as cached_notification
from consoleme_assets.sandbox.seed_events import cloudtrail_event
from consoleme_assets.settings import SettingsError
from consoleme_assets.settings.cloudtrail_notifications import (
    CloudTrailNotificationSettings,
    cloudtrail_notification_settings,
)
from consoleme_assets.settings.loader import ConfigTree
from consoleme_assets.stores.dynamo_store import from_dynamo, to_dynamo
from consoleme_assets_tests.consoleme_fields import NOTIFICATION_FIELDS

NOW = 1_800_000_000
ACCOUNT = "111122223333"
OTHER = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/app"
OWNER = "team-app@example.com"
S3_DENIED = "User: x is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key.txt"
DEFAULTS = CloudTrailNotificationSettings()


def row(
    session="alice@example.com",
    when=NOW - 600,
    role_path_name="service/app",
    account=ACCOUNT,
    source="s3.amazonaws.com",
    name="GetObject",
    code="AccessDenied",
    message=S3_DENIED,
    resources=None,
):
    """A consoleme_cloudtrail item as our denies drain writes it (deny_item, spec §5.21)."""
    event = cloudtrail_event(account, role_path_name, session, source, name, code, message, when, resources)
    return deny_item(event["detail"], NOW, 86400, [".amazonaws.com"])


def one(generated: Generated) -> dict:
    assert len(generated.items) == 1, generated
    return next(iter(generated.items.values()))


def decoded_request(item: dict) -> dict:
    uri = item["message_actions"][0]["uri"]
    prefix = "/selfservice?encoded_request="
    assert uri.startswith(prefix)
    return json.loads(base64.b64decode(unquote(uri[len(prefix) :])))


def stored(item: dict) -> dict:
    """What a scan of consoleme_notifications gives back after the item was written (our DynamoDB encoding)."""
    return from_dynamo(to_dynamo(item))


# -- formats -----------------------------------------------------------------------------------------------------


def test_item_has_consoleme_fields_in_order_with_their_values():
    r = row()
    item = one(generate_notifications([r], {ROLE: OWNER}, DEFAULTS, NOW))
    assert list(item) == NOTIFICATION_FIELDS
    # predictable_id = f"{type}-{owner}-{principal_name}-{event_call}-{resource.split(':')[-1]}"
    assert item["predictable_id"] == f"cloudtrail_generated_policy-{OWNER}-app-s3:GetObject-bucket/key.txt"
    assert item["type"] == "cloudtrail_generated_policy"
    assert item["users_or_groups"] == {OWNER, "alice@example.com"}  # a set (Set[str]): owner + session name
    assert isinstance(item["users_or_groups"], set)
    assert item["event_time"] == NOW - 600  # the row's epoch_event_time
    # ConsoleMe: int(now + notification_ttl) every run; here: the latest error + notification_ttl (module doc).
    assert item["expiration"] == NOW - 600 + 86400
    assert item["expired"] is False
    assert item["header"] is None
    assert item["message_actions"][0]["http_method"] == "get"
    assert item["message_actions"][0]["text"] == "Review and Submit Request"
    assert list(item["message_actions"][0]) == ["http_method", "uri", "text"]
    assert item["details"] == r and item["details"] is not r  # the whole CloudTrail row
    assert item["read_by_users"] == [] and item["hidden_for_users"] == []  # List[str], set() coerced to []
    assert item["read_by_all"] is False and item["hidden_for_all"] is False
    assert item["read_for_current_user"] is None
    assert item["version"] == 1


def test_self_service_link_carries_consoleme_request_with_the_generated_policy():
    item = one(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW))
    request = decoded_request(item)
    # `generated_request` of process_cloudtrail_errors, key for key and in its order.
    assert request == {
        "role": {
            "name": "app",
            "account_id": ACCOUNT,
            "account_name": "",
            "arn": ROLE,
            "cloudtrail_details": {"error_url": "", "errors": {"cloudtrail_errors": []}},
            "s3_details": {"error_url": "", "errors": {"s3_errors": []}},
            "apps": {"app_details": []},
            "tags": [],
            "templated": False,
            "principal": {"principal_type": "AwsResource", "principal_arn": ROLE},
        },
        "updated_policy": (
            '{"Statement": [{"Action": ["s3:GetObject"], "Effect": "Allow", '
            '"Resource": ["arn:aws:s3:::bucket/key.txt"]}], "Version": "2012-10-17"}'
        ),
    }
    assert list(request) == ["role", "updated_policy"]
    assert list(request["role"])[:4] == ["name", "account_id", "account_name", "arn"]
    # The whole link is plain base64 of json.dumps (", " / ": " separators, as simplejson's defaults).
    raw = json.dumps(request)
    assert (
        item["message_actions"][0]["uri"] == "/selfservice?encoded_request=" + base64.b64encode(raw.encode()).decode()
    )


def test_default_message_links_the_principal_to_its_policy_editor():
    item = one(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW))
    # url_role_path = /policies/edit/<account>/iam<role|user>/<name without path>, bold markdown link to the ARN
    assert f"**[{ROLE}](/policies/edit/{ACCOUNT}/iamrole/app)**" in item["message"]
    assert "24 hours" in item["message"]
    shorter = CloudTrailNotificationSettings(notification_ttl=7200)
    assert "2 hours" in one(generate_notifications([row()], {ROLE: OWNER}, shorter, NOW))["message"]


def test_configured_message_gets_arn_and_editor_path_filled_other_braces_kept():
    settings = CloudTrailNotificationSettings(message="Denied: {arn} -> {url_role_path} {not_a_placeholder}")
    item = one(generate_notifications([row()], {ROLE: OWNER}, settings, NOW))
    assert item["message"] == f"Denied: {ROLE} -> /policies/edit/{ACCOUNT}/iamrole/app {{not_a_placeholder}}"
    plain = CloudTrailNotificationSettings(message="Plain text")
    assert one(generate_notifications([row()], {ROLE: OWNER}, plain, NOW))["message"] == "Plain text"
    assert "{arn}" in DEFAULT_MESSAGE and "{url_role_path}" in DEFAULT_MESSAGE


def test_iam_user_principal_is_iamuser_and_gets_its_owner():
    user = f"arn:aws:iam::{ACCOUNT}:user/ci/deployer"
    r = {**row(session=""), "arn": user}
    item = one(generate_notifications([r], {user: "ci-team"}, DEFAULTS, NOW))
    assert f"/policies/edit/{ACCOUNT}/iamuser/deployer" in item["message"]
    assert item["predictable_id"].startswith("cloudtrail_generated_policy-ci-team-deployer-")
    assert item["users_or_groups"] == {"ci-team"}


def test_plus_in_base64_is_escaped_for_the_query_parser():
    # `~` and `>` make base64 emit `+`, which the self-service page's query parser turns into a space.
    policy = {"Statement": [{"Action": ["s3:GetObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::b/~>~"]}]}
    policy["Version"] = "2012-10-17"
    uri = self_service_uri(ROLE, ACCOUNT, "app", policy)
    assert "+" not in uri and "%2B" in uri
    encoded = uri.split("=", 1)[1]
    assert "+" in unquote(encoded)  # so the case is real
    assert json.loads(json.loads(base64.b64decode(unquote(encoded)))["updated_policy"]) == policy


# -- ids and targets ---------------------------------------------------------------------------------------------


def test_ids_and_links_are_stable_across_runs_row_order_and_policy_key_order():
    rows = [row(), row(session="bob@example.com", name="PutObject"), row(role_path_name="other")]
    first = generate_notifications(rows, {ROLE: OWNER}, DEFAULTS, NOW)
    reordered = [dict(reversed(list(r.items()))) for r in reversed(rows)]
    reordered[0]["generated_policy"] = dict(reversed(list(reordered[0]["generated_policy"].items())))
    second = generate_notifications(reordered, {ROLE: OWNER}, DEFAULTS, NOW + 3000)
    assert first.items == second.items
    assert sorted(first.items) == [
        "cloudtrail_generated_policy-None-other-s3:GetObject-bucket/key.txt",  # not in the cache: ConsoleMe's "None"
        f"cloudtrail_generated_policy-{OWNER}-app-s3:GetObject-bucket/key.txt",
        f"cloudtrail_generated_policy-{OWNER}-app-s3:PutObject-bucket/key.txt",
    ]


def test_owner_lookup_may_be_a_callable_and_is_asked_per_principal_only():
    asked = []

    def owner_of(arn):
        asked.append(arn)
        return OWNER

    item = one(generate_notifications([row()], owner_of, DEFAULTS, NOW))
    assert asked == [ROLE] and OWNER in item["users_or_groups"]


def test_rows_sharing_an_id_notify_every_session_user_and_show_the_latest_error():
    older = row(session="alice@example.com", when=NOW - 5000)
    newer = row(session="bob@example.com", when=NOW - 100)
    item = one(generate_notifications([newer, older], {ROLE: OWNER}, DEFAULTS, NOW))
    assert item["users_or_groups"] == {OWNER, "alice@example.com", "bob@example.com"}
    assert item["details"] == newer and item["event_time"] == NOW - 100


def test_assume_role_of_same_named_role_in_many_accounts_is_one_notification():
    denied = "User: x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{}:role/target"
    rows = [
        row(source="sts.amazonaws.com", name="AssumeRole", message=denied.format(account), when=NOW - i)
        for i, account in enumerate((ACCOUNT, OTHER))
    ]
    generated = generate_notifications(rows, {ROLE: OWNER}, DEFAULTS, NOW)
    assert list(generated.items) == [f"cloudtrail_generated_policy-{OWNER}-app-sts:AssumeRole-role/target"]


def test_instance_session_is_not_a_target_and_additional_users_are_added_to_every_notification():
    settings = CloudTrailNotificationSettings(additional_notify_users=["dev-team"])
    item = one(generate_notifications([row(session="i-0123456789abcdef0")], {ROLE: OWNER}, settings, NOW))
    assert item["users_or_groups"] == {OWNER, "dev-team"}  # ConsoleMe left dev-team out here
    item = one(generate_notifications([row()], {}, settings, NOW))
    assert item["users_or_groups"] == {"alice@example.com", "dev-team"}


def test_nobody_to_notify_is_not_created_but_refreshes_a_stored_notification():
    generated = generate_notifications([row(session="i-0abc", when=NOW - 50)], {}, DEFAULTS, NOW)
    assert generated.items == {} and len(generated.untargeted) == 1
    changes = notification_changes(generated, [])
    assert changes.to_write == [] and changes.untargeted == list(generated.untargeted)
    pid, fresh = next(iter(generated.untargeted.items()))
    before = {**fresh, "users_or_groups": {"alice@example.com"}, "event_time": NOW - 9000, "expiration": NOW - 9000}
    changes = notification_changes(generated, [stored(before)])
    (written,) = changes.changed
    assert written["users_or_groups"] == {"alice@example.com"}
    assert written["event_time"] == NOW - 50 and written["expiration"] == NOW - 50 + 86400


# -- rows left out -----------------------------------------------------------------------------------------------


def test_expired_rows_and_rows_without_a_policy_are_left_out_and_counted():
    expired = {**row(), "ttl": NOW - 1}
    throttled = row(code="ThrottlingException", session="carol@example.com")
    short = CloudTrailNotificationSettings(notification_ttl=300)
    generated = generate_notifications([expired, throttled, row()], {ROLE: OWNER}, short, NOW)
    assert generated.expired_rows == 2  # past its ttl; event + notification_ttl already past
    assert generated.rows_without_policy == 1 and generated.items == {} and generated.skipped == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"arn": "arn:aws:iam::123:role/x"}, "arn", "not an IAM principal"),
        ({"arn": f"arn:aws:iam::{ACCOUNT}:root"}, "arn", "not an IAM role or user"),
        ({"arn": None}, "arn", "None"),
        ({"event_call": ""}, "event_call", "service:Action"),
        ({"resource": 5}, "resource", "not a string"),
        ({"session_name": ["x"]}, "session_name", "not a string"),
        ({"epoch_event_time": "yesterday"}, "epoch_event_time", "not epoch seconds"),
        ({"epoch_event_time": True}, "epoch_event_time", "not epoch seconds"),
        ({"generated_policy": ["s3:GetObject"]}, "generated_policy", "not a policy document"),
        ({"generated_policy": {"Statement": {1, 2}}}, "generated_policy", "cannot be encoded"),
    ],
)
def test_bad_row_is_skipped_naming_row_and_field_others_still_produced(change, field, words):
    bad = {**row(session="bob@example.com", name="PutObject"), **change}
    generated = generate_notifications([bad, row()], {ROLE: OWNER}, DEFAULTS, NOW)
    (skipped,) = generated.skipped
    assert skipped.row == bad["request_id"] and skipped.field == field and words in skipped.reason
    assert bad["request_id"] in str(skipped) and field in str(skipped)
    assert len(generated.items) == 1


def test_non_mapping_row_and_non_string_owner_are_skipped():
    generated = generate_notifications(["junk", row()], {ROLE: ["a", "b"]}, DEFAULTS, NOW)
    assert [(s.row, s.field) for s in generated.skipped] == [("#0", "row"), (row()["request_id"], "owner")]
    assert generated.items == {}


# -- new, changed, unchanged -------------------------------------------------------------------------------------


def test_new_then_unchanged_after_a_dynamodb_round_trip():
    generated = generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW)
    first = notification_changes(generated, [])
    assert [i["predictable_id"] for i in first.new] == list(generated.items) and first.changed == []
    written = [stored(i) for i in first.to_write]
    assert isinstance(to_dynamo(first.new[0])["users_or_groups"], set)  # a DynamoDB string set, as ConsoleMe
    assert to_dynamo(first.new[0])["event_time"] == Decimal(NOW - 600)
    again = notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW + 3600), written)
    assert again.to_write == [] and again.unchanged == list(generated.items)


def test_changed_takes_the_new_error_and_keeps_what_users_did():
    first = notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW), []).new[0]
    before = stored(
        {
            **first,
            "read_by_users": ["alice@example.com"],
            "hidden_for_users": ["zed@example.com"],
            "read_by_all": True,
            "users_or_groups": {OWNER, "alice@example.com", "old-user"},
            "expired": True,
        }
    )
    later = row(session="bob@example.com", when=NOW + 1000)
    changes = notification_changes(generate_notifications([later], {ROLE: OWNER}, DEFAULTS, NOW + 1200), [before])
    (item,) = changes.changed
    assert changes.new == [] and list(item) == NOTIFICATION_FIELDS
    assert item["users_or_groups"] == {OWNER, "alice@example.com", "old-user", "bob@example.com"}
    assert item["read_by_users"] == ["alice@example.com"] and item["hidden_for_users"] == ["zed@example.com"]
    assert item["read_by_all"] is True
    assert item["event_time"] == NOW + 1000 and item["expiration"] == NOW + 1000 + 86400
    assert item["expired"] is False and item["details"] == later


def test_new_session_user_alone_is_a_change():
    before = stored(notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW), []).new[0])
    rows = [row(), row(session="bob@example.com", when=NOW - 700)]
    changes = notification_changes(generate_notifications(rows, {ROLE: OWNER}, DEFAULTS, NOW), [before])
    assert [i["users_or_groups"] for i in changes.changed] == [{OWNER, "alice@example.com", "bob@example.com"}]


def test_stored_consoleme_expiration_is_not_shortened_nor_a_change():
    first = notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW), []).new[0]
    before = stored({**first, "expiration": NOW + 86400})  # ConsoleMe's now + ttl, later than ours
    changes = notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW), [before])
    assert changes.to_write == [] and len(changes.unchanged) == 1


def test_other_types_are_ignored_and_unreadable_stored_items_reported_and_replaced():
    generated = generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW)
    pid = next(iter(generated.items))
    other = {"predictable_id": pid, "type": "proxy_generated_policy", "users_or_groups": {"x"}}
    broken = {"predictable_id": pid, "type": "cloudtrail_generated_policy", "users_or_groups": {"x"}, "event_time": "?"}
    changes = notification_changes(generated, [other, "junk"])
    assert len(changes.new) == 1 and changes.problems == ["stored notification is a str, not a mapping"]
    changes = notification_changes(generated, [broken])
    assert len(changes.new) == 1 and changes.problems == [
        f"stored notification {pid}: event_time '?' is not epoch seconds (replaced)"
    ]


def test_simulation_runs_for_new_notifications_only_and_is_kept_on_update():
    calls = []

    def simulate(arn, action, resource, source_ip):
        calls.append((arn, action, resource, source_ip))
        return [{"EvalDecision": "implicitDeny"}]

    generated = generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW)
    (new,) = notification_changes(generated, [], simulate).new
    assert calls == [(ROLE, "s3:GetObject", "arn:aws:s3:::bucket/key.txt", "203.0.113.10")]
    assert new["details"]["iam_policy_simulation"] == [{"EvalDecision": "implicitDeny"}]
    assert "iam_policy_simulation" not in next(iter(generated.items.values()))["details"]  # input not mutated
    later = generate_notifications([row(when=NOW + 60)], {ROLE: OWNER}, DEFAULTS, NOW + 120)
    (changed,) = notification_changes(later, [stored(new)], simulate).changed
    assert len(calls) == 1 and changed["details"]["iam_policy_simulation"] == [{"EvalDecision": "implicitDeny"}]


def test_written_items_are_read_by_the_notifications_cache():
    (item,) = notification_changes(generate_notifications([row()], {ROLE: OWNER}, DEFAULTS, NOW), []).new
    cached = cached_notification(stored(item))
    assert cached["users_or_groups"] == sorted([OWNER, "alice@example.com"])
    assert cached["message_actions"] == item["message_actions"] and cached["expiration"] == item["expiration"]


# -- owners and settings -----------------------------------------------------------------------------------------


def test_owner_lookup_from_iam_cache_entries():
    entries = {
        ROLE: json.dumps({"arn": ROLE, "owner": OWNER}),
        "arn:aws:iam::111122223333:role/b": {"arn": "b", "owner": None},
        "arn:aws:iam::111122223333:role/c": "not json",
    }
    assert owners_from_cache_entries(entries) == {ROLE: OWNER, "arn:aws:iam::111122223333:role/b": None}
    assert principal_arns([row(), row(role_path_name="x"), "junk", {"arn": None}]) == [
        ROLE,
        f"arn:aws:iam::{ACCOUNT}:role/x",
    ]


def tree(data: dict) -> ConfigTree:
    origins = {}

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict) and v:
                walk(v, f"{prefix}{k}.")
            else:
                origins[f"{prefix}{k}"] = "/etc/consoleme.yaml"

    walk(data, "")
    return ConfigTree(data=data, files=["/etc/consoleme.yaml"], origins=origins)


def test_settings_defaults_are_consoleme_s():
    s = cloudtrail_notification_settings(tree({}))
    assert s == DEFAULTS
    assert (s.notification_ttl, s.message, s.simulate_iam_principal_action, s.additional_notify_users) == (
        86400,
        None,
        False,
        [],
    )


def test_settings_read_consoleme_keys():
    s = cloudtrail_notification_settings(
        tree(
            {
                "process_cloudtrail_errors": {
                    "notification_ttl": 3600,
                    "generate_notifications": {"message": "hi {arn}"},
                    "simulate_iam_principal_action": True,
                    "additional_notify_users": "dev-team",  # ConsoleMe made a set of its letters
                }
            }
        )
    )
    assert s.notification_ttl == 3600 and s.message == "hi {arn}" and s.simulate_iam_principal_action
    assert s.additional_notify_users == ["dev-team"]


def test_bad_setting_names_file_and_key():
    with pytest.raises(SettingsError) as err:
        cloudtrail_notification_settings(tree({"process_cloudtrail_errors": {"notification_ttl": "a day"}}))
    assert "/etc/consoleme.yaml: key 'process_cloudtrail_errors.notification_ttl'" in str(err.value)
