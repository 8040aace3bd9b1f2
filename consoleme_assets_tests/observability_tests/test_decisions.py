"""The pure decisions: windows, per-account levels, what to alert, compat key names, shapes, metrics."""

import json

import pytest

from consoleme_assets.observability import alerts, compat, shapes
from consoleme_assets.observability.freshness import Window, freshness_windows, window_for_cadence
from consoleme_assets.observability.metrics import metrics_for_materialization
from consoleme_assets.observability.staleness import judge_accounts
from consoleme_assets.settings import Settings

UI = "http://ui:3000"


@pytest.mark.parametrize("cadence,warn,fail", [(5, 10, 20), (30, 40, 70), (45, 60, 100), (60, 80, 130),
                                               (1440, 1560, 1800)])
def test_window_rule(cadence, warn, fail):
    assert window_for_cadence(cadence) == Window(warn, fail)


def test_overrides_apply_and_are_checked():
    settings = Settings.model_validate({"observability": {"freshness": {"s3_buckets": {"warn_minutes": 50}}}})
    windows = freshness_windows(["s3_buckets", "aws_accounts"], settings)
    assert windows["s3_buckets"] == Window(50, 100) and windows["aws_accounts"] == Window(80, 130)
    bad = Settings.model_validate({"observability": {"freshness": {"s3_bucket": {"warn_minutes": 50}}}})
    with pytest.raises(ValueError, match="unknown asset.*s3_bucket"):
        freshness_windows(["s3_buckets"], bad)
    crossed = Settings.model_validate({"observability": {"freshness": {"s3_buckets": {"warn_minutes": 120}}}})
    with pytest.raises(ValueError, match="consoleme_assets.freshness.s3_buckets: warn window 120"):
        freshness_windows(["s3_buckets"], crossed)


def test_judge_accounts():
    states = judge_accounts(["a", "b", "c", "d"], {"a": 1000, "b": 1000 - 3700, "c": 1000 - 7000}, 1000, Window(60, 100))
    assert {k: s.level for k, s in states.items()} == {"a": "PASS", "b": "WARN", "c": "FAIL", "d": "FAIL"}
    assert states["d"].age_seconds is None


def test_freshness_alerts_once_per_change():
    ages = {"s3_buckets": 4000.0}
    assert alerts.freshness_alerts({}, {"s3_buckets": "PASS"}, ages, UI) == []  # fresh: nothing
    [warn] = alerts.freshness_alerts({"s3_buckets": "PASS"}, {"s3_buckets": "WARN"}, ages, UI)
    assert warn.url == "http://ui:3000/assets/s3_buckets" and "66 min old" in warn.message
    assert alerts.freshness_alerts({"s3_buckets": "WARN"}, {"s3_buckets": "WARN"}, ages, UI) == []  # no repeat
    [fail] = alerts.freshness_alerts({"s3_buckets": "WARN"}, {"s3_buckets": "FAIL"}, ages, UI)
    [back] = alerts.freshness_alerts({"s3_buckets": "FAIL"}, {"s3_buckets": "PASS"}, ages, UI)
    assert (fail.state, back.state, back.previous_state) == ("FAIL", "PASS", "FAIL")


def test_account_alerts_grouped_per_transition():
    ages = {"s3_buckets": {"111111111111": 10.0, "222222222222": 7000.0, "333333333333": None}}
    current = {"s3_buckets": {"111111111111": "PASS", "222222222222": "FAIL", "333333333333": "FAIL"}}
    [alert] = alerts.account_alerts({}, current, ages, UI)
    assert alert.accounts == ["222222222222", "333333333333"] and alert.asset == "s3_buckets"
    assert "never refreshed" in alert.message and "116 min old" in alert.message
    assert alerts.account_alerts({"s3_buckets": alerts.bad_only(current["s3_buckets"])}, current, ages, UI) == []
    recovered = {"s3_buckets": {"111111111111": "PASS", "222222222222": "PASS", "333333333333": "FAIL"}}
    [back] = alerts.account_alerts({"s3_buckets": alerts.bad_only(current["s3_buckets"])}, recovered, ages, UI)
    assert back.state == "PASS" and back.accounts == ["222222222222"]


def test_run_failure_alerts_name_accounts():
    [alert] = alerts.run_failure_alerts(
        "r1", "inventory_job", [{"asset": "s3_buckets", "error": "1 of 3 accounts failed",
                                 "failed_accounts": {"222222222222": "AccessDenied"}}], UI)
    assert alert.accounts == ["222222222222"] and alert.url == "http://ui:3000/runs/r1"
    assert "s3_buckets failed for account(s) 222222222222" in alert.message


def test_compat_key_names():
    values = compat.compat_values({"s3_buckets": 1000.7, "aws_accounts": 900.0}, now=1100.0)
    p = "consoleme.celery_tasks.celery_tasks."
    assert values[p + "cache_s3_buckets_across_accounts.last_success"] == 1000
    assert values[p + "cache_s3_buckets_for_account.last_success"] == 1000
    assert values[p + "cache_s3_buckets_across_accounts.time_since_last_success"] == 99
    assert values[p + "cache_cloud_account_mapping.last_success"] == 900
    assert p + "cache_policies_table_details.last_success" not in values  # never succeeded: only time_since
    assert values[p + "cache_policies_table_details.time_since_last_success"] == 1100
    assert values[p + "report_celery_last_success_metrics.last_success"] == 1100


def test_shapes_name_the_field():
    good = {"arn": "arn:aws:iam::111111111111:role/a", "name": "a", "resourceId": "AROA", "accountId": "111111111111",
            "ttl": 1, "owner": None, "policy": "{}", "templated": None}
    assert shapes.iam_entries_problems("IAM_ROLE_CACHE", "roles", [(good["arn"], json.dumps(good))]) == []
    broken = {k: v for k, v in good.items() if k != "resourceId"}
    [problem] = shapes.iam_entries_problems("IAM_ROLE_CACHE", "roles", [(good["arn"], json.dumps(broken))])
    assert "field 'resourceId' is missing" in problem and good["arn"] in problem
    [problem] = shapes.account_lists_problems("S3_BUCKETS", "s3_buckets", [("111111111111", '["a", 3]')])
    assert "S3_BUCKETS[111111111111]" in problem
    assert shapes.account_lists_problems("SQS_QUEUES", "sqs_queues", [("111111111111", '["q"]')])
    assert shapes.missing_accounts(["1", "2"], {"1": True, "2": False}) == ["2"]


def test_metrics_for_materialization():
    ms = metrics_for_materialization("s3_buckets", "111111111111",
                                     {"dagster/row_count": 3, "fetch_seconds": 0.5, "account_id": "x"}, 10.0)
    assert {(m.name, m.value) for m in ms} == {("materializations", 1), ("rows", 3.0), ("fetch_seconds", 0.5)}
    assert all(m.dimensions == {"Asset": "s3_buckets", "Account": "111111111111"} for m in ms)
