"""CloudTrail error counting, without Dagster or AWS."""

from decimal import Decimal

import pytest

from consoleme_assets.cloudtrail.records import count_errors_by_arn, is_expired, validate_counts

NOW = 1_800_000_000.7
A = "arn:aws:iam::111122223333:role/a"
B = "arn:aws:iam::111122223333:role/b"
C = "arn:aws:iam::111122223333:user/c"


def test_counts_live_items_per_arn():
    items = [
        {"arn": B, "request_id": "1", "count": 3, "ttl": NOW + 60},
        {"arn": A, "request_id": "2", "count": 2, "ttl": NOW + 60},
        {"arn": B, "request_id": "3", "count": 4, "ttl": NOW + 3600},
        {"arn": A, "request_id": "4", "ttl": NOW + 60},  # no count: one error (ConsoleMe's default)
        {"arn": C, "request_id": "5", "count": 100, "ttl": NOW - 3600},  # expired, not yet deleted by DynamoDB
        {"arn": A, "request_id": "6", "count": 50, "ttl": NOW - 1},
        {"arn": C, "request_id": "7", "count": 1},  # no ttl: never expires
        {"request_id": "8", "count": 9, "ttl": NOW + 60},  # no principal
    ]
    result = count_errors_by_arn(items, NOW)
    assert result.by_arn == {A: 3, B: 7, C: 1}
    assert list(result.by_arn) == [A, B, C]
    assert result.expired_items == 2
    assert result.items_without_arn == 1


def test_expiry_is_whole_seconds_like_consoleme():
    assert not is_expired({"ttl": int(NOW)}, NOW)  # int(ttl) < int(now) is ConsoleMe's test
    assert is_expired({"ttl": int(NOW) - 1}, NOW)
    assert not is_expired({"ttl": None}, NOW)
    assert not is_expired({"ttl": "soon"}, NOW)
    assert is_expired({"ttl": Decimal(1)}, NOW)


def test_bad_count_names_the_item():
    with pytest.raises(ValueError, match=r"arn:aws:iam::111122223333:role/a / r9: count 'x'"):
        count_errors_by_arn([{"arn": A, "request_id": "r9", "count": "x"}], NOW)


def test_validate_counts():
    assert validate_counts({B: 2, A: Decimal(3), C: 4.0}, "p") == {A: 3, B: 2, C: 4}
    for bad in ({A: -1}, {A: 1.5}, {A: True}, {A: "3"}, {A: float("nan")}):
        with pytest.raises(TypeError, match="source 'p' returned count"):
            validate_counts(bad, "p")
    with pytest.raises(TypeError, match="non-string ARN key"):
        validate_counts({1: 1}, "p")
    with pytest.raises(TypeError, match="returned list, not a mapping"):
        validate_counts([A], "p")
