"""Policy request items -> ALL_POLICY_REQUESTS, without Dagster or AWS."""

import copy

from consoleme_assets.policy_requests.records import policy_requests_cache, principal_of, request_time, to_v3

ARN = "arn:aws:iam::111122223333:role/app"


def v2(**fields):
    item = {
        "request_id": "r1",
        "arn": ARN,
        "principal": {"principal_type": "AwsResource", "principal_arn": ARN},
        "status": "pending",
        "request_time": 100,
        "version": "2",
        "username": "a@example.com",
        "extended_request": {
            "id": "r1",
            "principal": {"principal_type": "AwsResource", "principal_arn": ARN},
            "changes": {"changes": []},
        },
    }
    item.update(fields)
    return item


def test_v2_with_principal_loses_only_the_top_level_arn():
    item = v2()
    original = copy.deepcopy(item)
    converted = to_v3(item)
    assert item == original  # the input (the table's item) is not touched
    expected = copy.deepcopy(original)
    del expected["arn"]
    assert converted == expected
    assert converted["version"] == "2"  # ConsoleMe upgraded changes, not the request's version


def test_v2_without_principal_gets_it_from_arn():
    item = v2()
    del item["principal"]
    del item["extended_request"]["principal"]
    converted = to_v3(item)
    principal = {"principal_arn": ARN, "principal_type": "AwsResource"}
    assert "arn" not in converted
    assert converted["principal"] == principal
    assert converted["extended_request"]["principal"] == principal


def test_v2_without_principal_or_arn_does_not_crash():
    item = v2()
    del item["principal"], item["arn"]
    assert "principal" not in to_v3(item)


def test_v2_changes_with_principal_arn_become_v3():
    old = {"principal_arn": ARN, "version": "2.0", "change_type": "inline_policy", "id": "c1"}
    numeric = {"principal_arn": ARN, "version": 2, "id": "c2"}
    newer = {"principal_arn": ARN, "version": "3.0", "id": "c3"}
    already = {"principal": {"principal_arn": ARN, "principal_type": "AwsResource"}, "version": "2.0", "id": "c4"}
    item = v2(extended_request={"id": "r1", "changes": {"changes": [old, numeric, newer, already]}})
    changes = to_v3(item)["extended_request"]["changes"]["changes"]
    principal = {"principal_arn": ARN, "principal_type": "AwsResource"}
    assert changes[0] == {"version": "3.0", "change_type": "inline_policy", "id": "c1", "principal": principal}
    assert changes[1] == {"version": "3.0", "id": "c2", "principal": principal}
    assert changes[2] == newer  # only 2.x changes are upgraded
    assert changes[3] == already


def test_v2_without_extended_request_loses_arn():
    item = {"request_id": "r1", "arn": ARN, "version": "2", "request_time": 1}
    assert to_v3(item) == {"request_id": "r1", "version": "2", "request_time": 1}


def test_v1_items_are_unchanged():
    legacy = {"request_id": "old", "arn": ARN, "status": "approved", "policy_changes": "[]", "request_time": 5}
    assert to_v3(legacy) is legacy
    assert principal_of(legacy) == ARN


def test_sorted_newest_first_ties_by_request_id():
    items = [
        {"request_id": "a", "request_time": 10},
        {"request_id": "b", "request_time": 30.5},
        {"request_id": "c"},
        {"request_id": "d", "request_time": 10},
        {"request_id": "e", "request_time": "not a time"},
    ]
    assert [r["request_id"] for r in policy_requests_cache(items)] == ["b", "d", "a", "e", "c"]


def test_request_time_reads_numbers_and_numeric_strings():
    assert request_time({"request_time": 7}) == 7.0
    assert request_time({"request_time": "8"}) == 8.0
    assert request_time({"request_time": None}) == 0.0
    assert request_time({"request_time": True}) == 0.0


def test_principal_of_templates():
    template = {"principal": {"principal_type": "HoneybeeAwsResourceTemplate", "resource_identifier": "repo/x"}}
    assert principal_of(template) == "repo/x"
