"""CloudTrail events -> consoleme_cloudtrail items (spec §5.21), without AWS."""

import json

from consoleme_assets.cloudtrail.denies import Rejection, deny_item, event_detail, merge_denies, resource_of
from consoleme_assets.sandbox.seed_events import cloudtrail_event

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
SUBS = [".amazonaws.com"]
ACCOUNT = "111122223333"


def s3_event(when=NOW - 600, **detail):
    event = cloudtrail_event(
        ACCOUNT,
        "service/app",
        "alice@example.com",
        "s3.amazonaws.com",
        "GetObject",
        "AccessDenied",
        "User: x is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key.txt",
        when,
    )
    event["detail"].update(detail)
    return event


def test_item_has_consoleme_fields_and_values():
    item = deny_item(s3_event()["detail"], NOW, 86400, SUBS)
    principal = f"arn:aws:iam::{ACCOUNT}:role/service/app"
    assert item == {
        "error_code": "AccessDenied",
        "error_message": "User: x is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key.txt",
        "arn": principal,
        "session_name": "alice@example.com",
        "source_ip": "203.0.113.10",
        "event_call": "s3:GetObject",
        "epoch_event_time": NOW - 600,
        "ttl": NOW - 600 + 86400,
        "count": 1,
        "resource": "arn:aws:s3:::bucket/key.txt",
        "request_id": f"{principal}-alice@example.com-s3:GetObject-arn:aws:s3:::bucket/key.txt",
        "generated_policy": {
            "Statement": [{"Action": ["s3:GetObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::bucket/key.txt"]}],
            "Version": "2012-10-17",
        },
    }


def test_generated_policy_only_for_access_denied_and_unauthorized_operation():
    assert "generated_policy" in deny_item(s3_event(errorCode="UnauthorizedOperation")["detail"], NOW, 60, SUBS)
    assert "generated_policy" not in deny_item(s3_event(errorCode="ThrottlingException")["detail"], NOW, 60, SUBS)


def test_resource_is_longest_resources_arn_then_error_message_then_star():
    assert (
        resource_of(
            {
                "resources": [{"ARN": "arn:aws:ec2:::a"}, {"ARN": "arn:aws:ec2:::abc"}],
                "errorMessage": "x on resource: arn:aws:s3:::zzzzzzzzzz",
            }
        )
        == "arn:aws:ec2:::abc"
    )
    assert resource_of({"errorMessage": "denied on resource: arn:aws:sqs:us-east-1:1:q"}) == "arn:aws:sqs:us-east-1:1:q"
    assert resource_of({"errorMessage": "denied"}) == "*"
    assert resource_of({}) == "*"


def test_event_source_substitutions_and_ttl_setting():
    item = deny_item(s3_event()["detail"], NOW, 3600, [".amazonaws.com", "s3"])
    assert item["event_call"] == ":GetObject"
    assert item["ttl"] == NOW - 600 + 3600


def test_user_arn_without_slash_has_empty_session_name():
    detail = s3_event()["detail"]
    detail["userIdentity"]["arn"] = "arn:aws:iam::111122223333:root"
    assert deny_item(detail, NOW, 60, SUBS)["session_name"] == ""


def test_sns_envelope_and_plain_event_give_the_same_detail():
    event = s3_event()
    assert (
        event_detail(json.dumps(event)) == event_detail(json.dumps({"Message": json.dumps(event)})) == event["detail"]
    )


def test_named_rejections():
    def reason(body_or_detail):
        if isinstance(body_or_detail, str):
            result = event_detail(body_or_detail)
        else:
            result = deny_item(body_or_detail, NOW, 60, SUBS)
        assert isinstance(result, Rejection), result
        return result.reason

    assert reason("{nope") == "not_json"
    assert reason(json.dumps({"Message": "{nope"})) == "not_json"
    assert reason(json.dumps({"detail-type": "Scheduled Event"})) == "no_detail"
    assert reason(json.dumps(["a list"])) == "no_detail"
    assert reason(s3_event(when=NOW - 86401)["detail"]) == "too_old"
    assert reason(s3_event(eventTime="yesterday")["detail"]) == "bad_event_time"
    assert reason(s3_event(eventTime=None)["detail"]) == "bad_event_time"
    no_issuer = s3_event()["detail"]
    del no_issuer["userIdentity"]["sessionContext"]
    assert reason(no_issuer) == "no_principal"
    assert reason(s3_event(userIdentity="garbage")["detail"]) == "no_principal"


def test_merge_accumulates_counts_per_request_id_with_the_stored_items():
    first = deny_item(s3_event(when=NOW - 600)["detail"], NOW, 86400, SUBS)
    again = deny_item(s3_event(when=NOW - 60)["detail"], NOW, 86400, SUBS)
    other = deny_item(s3_event(eventName="PutObject")["detail"], NOW, 86400, SUBS)
    stored = {other["request_id"]: {**other, "count": 5, "epoch_event_time": NOW - 7200}}
    merged = merge_denies([first, again, other], stored)
    by_id = {i["request_id"]: i for i in merged.items}
    assert by_id[first["request_id"]]["count"] == 2
    assert by_id[first["request_id"]]["epoch_event_time"] == NOW - 60  # latest event's fields
    assert by_id[first["request_id"]]["ttl"] == NOW - 60 + 86400
    assert by_id[other["request_id"]]["count"] == 6
    assert merged.new_request_ids == [first["request_id"]]
    # a stored item without count counts as 1 (ConsoleMe's default)
    assert merge_denies([other], {other["request_id"]: {"request_id": other["request_id"]}}).items[0]["count"] == 2
