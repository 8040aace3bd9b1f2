"""The pure decisions: windows, per-account levels, what to alert, compat key names, shapes, metrics."""

import json

import pytest

from consoleme_assets.lib import alerts, compat, shapes
from consoleme_assets.lib.freshness import Window, freshness_windows, window_for_cadence
from consoleme_assets.lib.metrics import metrics_for_materialization
from consoleme_assets.lib.staleness import judge_accounts
from consoleme_assets.settings import Settings
from consoleme_assets_tests.catalog import DATASETS

UI = "http://ui:3000"


@pytest.mark.parametrize(
    "cadence,warn,fail", [(5, 10, 20), (30, 40, 70), (45, 60, 100), (60, 80, 130), (1440, 1560, 1800)]
)
def test_window_rule(cadence, warn, fail):
    assert window_for_cadence(cadence) == Window(warn, fail)


def test_overrides_apply_and_are_checked():
    settings = Settings.model_validate({"observability": {"freshness": {"s3_buckets": {"warn_minutes": 50}}}})
    windows = freshness_windows(DATASETS, ["s3_buckets", "aws_accounts"], settings)
    assert windows["s3_buckets"] == Window(50, 100) and windows["aws_accounts"] == Window(80, 130)
    bad = Settings.model_validate({"observability": {"freshness": {"s3_bucket": {"warn_minutes": 50}}}})
    with pytest.raises(ValueError, match="unknown asset.*s3_bucket"):
        freshness_windows(DATASETS, ["s3_buckets"], bad)
    crossed = Settings.model_validate({"observability": {"freshness": {"s3_buckets": {"warn_minutes": 120}}}})
    with pytest.raises(ValueError, match="consoleme_assets.freshness.s3_buckets: warn window 120"):
        freshness_windows(DATASETS, ["s3_buckets"], crossed)


def test_judge_accounts():
    states = judge_accounts(
        ["a", "b", "c", "d"], {"a": 1000, "b": 1000 - 3700, "c": 1000 - 7000}, 1000, Window(60, 100)
    )
    assert {k: s.level for k, s in states.items()} == {"a": "PASS", "b": "WARN", "c": "FAIL", "d": "FAIL"}
    assert states["d"].age_seconds is None
    # Never refreshed but only known for a while (a new install, a new account): judged from when first seen.
    known = judge_accounts(["d", "e"], {}, 10_000, Window(60, 100), known_since={"d": 10_000 - 600, "e": 0})
    assert {k: s.level for k, s in known.items()} == {"d": "PASS", "e": "FAIL"}


def _status(level, asset_level=None, age=4000.0, accounts=None, total=None):
    return alerts.AssetStatus(level, asset_level or level, age, accounts or {}, total, 60, 100)


def test_asset_alerts_once_per_change():
    memo = lambda st: {"s3_buckets": st.memo()}  # noqa: E731
    fresh, warn, fail = _status("PASS", age=10.0), _status("WARN"), _status("FAIL", age=7000.0)
    assert alerts.asset_alerts({}, {"s3_buckets": fresh}, UI) == []  # first sighting of PASS: nothing
    [w] = alerts.asset_alerts(memo(fresh), {"s3_buckets": warn}, UI)
    assert w.url == "http://ui:3000/assets/s3_buckets" and "66 min old" in w.message
    assert (w.kind, w.state, w.previous_state) == ("freshness", "WARN", "PASS")
    assert "warn after 60 min, fail after 100 min" in w.message
    assert alerts.asset_alerts(memo(warn), {"s3_buckets": warn}, UI) == []  # no repeat
    [f] = alerts.asset_alerts(memo(warn), {"s3_buckets": fail}, UI)
    [back] = alerts.asset_alerts(memo(fail), {"s3_buckets": fresh}, UI)
    assert (f.state, back.state, back.previous_state) == ("FAIL", "PASS", "FAIL")
    assert alerts.asset_alerts(memo(fresh), {"s3_buckets": _status("UNKNOWN", age=None)}, UI) == []


def test_asset_and_its_accounts_are_one_alert():
    a, b, c = "111111111111", "222222222222", "333333333333"
    stale = _status("FAIL", "FAIL", 7000.0, {a: ("FAIL", 7000.0), b: ("FAIL", 7100.0), c: ("FAIL", None)}, 3)
    [alert] = alerts.asset_alerts({"s3_buckets": _status("PASS", age=1.0).memo()}, {"s3_buckets": stale}, UI)
    assert alert.accounts == [a, b, c] and alert.asset == "s3_buckets" and alert.state == "FAIL"
    assert "3 of 3 account(s) stale" in alert.message and f"{a} FAIL (116 min old)" in alert.message
    assert f"{c} FAIL (never refreshed)" in alert.message
    assert alert.details["accounts"][b] == {"level": "FAIL", "age_seconds": 7100.0}
    assert alerts.asset_alerts({"s3_buckets": stale.memo()}, {"s3_buckets": stale}, UI) == []
    # A refresh landing account by account: the asset stays FAIL while its accounts recover, which is progress,
    # not news; the cursor keeps the state last alerted on, so the recovery names every account.
    partly = _status("FAIL", "PASS", 5.0, {b: ("FAIL", 7100.0), c: ("FAIL", None)}, 3)
    assert alerts.asset_alerts({"s3_buckets": stale.memo()}, {"s3_buckets": partly}, UI) == []
    kept = alerts.next_memo(stale.memo(), partly, alerted=False)
    assert kept == stale.memo()
    [back] = alerts.asset_alerts({"s3_buckets": kept}, {"s3_buckets": _status("PASS", age=1.0)}, UI)
    assert (
        back.state == "PASS" and back.accounts == [a, b, c] and "fresh again: " + ", ".join([a, b, c]) in back.message
    )
    assert alerts.next_memo(kept, _status("PASS", age=1.0), alerted=True) == {"level": "PASS", "accounts": {}}


def test_an_account_going_stale_is_news_while_the_asset_is_stale():
    a, b = "111111111111", "222222222222"
    one = _status("WARN", "PASS", 5.0, {a: ("WARN", 4000.0)}, 2)
    two = _status("WARN", "PASS", 5.0, {a: ("WARN", 4100.0), b: ("WARN", 4000.0)}, 2)
    [alert] = alerts.asset_alerts({"s3_buckets": one.memo()}, {"s3_buckets": two}, UI)
    assert alert.details["newly_stale_accounts"] == [b] and alert.accounts == [a, b]
    staler = _status("WARN", "PASS", 5.0, {a: ("FAIL", 9000.0)}, 2)  # level is the asset's own worst: kept WARN here
    [alert] = alerts.asset_alerts({"s3_buckets": one.memo()}, {"s3_buckets": staler}, UI)
    assert alert.details["newly_stale_accounts"] == [a]
    assert alerts.asset_alerts({"s3_buckets": two.memo()}, {"s3_buckets": one}, UI) == []  # b recovered: progress


def test_worst():
    assert alerts.worst("PASS", "FAIL", "WARN") == "FAIL"
    assert alerts.worst("PASS", "UNKNOWN", None) == "PASS"
    assert alerts.worst("NOT_APPLICABLE", None) == "UNKNOWN"


def test_run_failure_alerts_name_accounts():
    [alert] = alerts.run_failure_alerts(
        "r1",
        "inventory_job",
        [
            {
                "asset": "s3_buckets",
                "error": "1 of 3 accounts failed",
                "failed_accounts": {"222222222222": "AccessDenied"},
            }
        ],
        UI,
    )
    assert alert.accounts == ["222222222222"] and alert.url == "http://ui:3000/runs/r1"
    assert "s3_buckets failed for account(s) 222222222222" in alert.message
    [alert] = alerts.run_failure_alerts(
        "r2",
        "inventory_job",
        [
            {
                "asset": "sqs_queues",
                "error": "1 of 3 accounts failed",
                "failed_accounts": {"222222222222": "AllRegionsFailed: ..."},
                "regional_errors": {"111111111111": {"us-west-2": "ListQueues: AccessDenied: no"}},
            }
        ],
        UI,
    )
    assert (
        "regions that failed (previous entries kept): 111111111111 us-west-2: ListQueues: AccessDenied" in alert.message
    )
    assert alert.details["regional_errors"] == {"111111111111": {"us-west-2": "ListQueues: AccessDenied: no"}}


def test_compat_key_names():
    tasks = {n: d.consoleme_tasks for n, d in DATASETS.items() if d.consoleme_tasks}
    values = compat.compat_values({"s3_buckets": 1000.7, "aws_accounts": 900.0}, now=1100.0, tasks_by_asset=tasks)
    p = "consoleme.celery_tasks.celery_tasks."
    assert values[p + "cache_s3_buckets_across_accounts.last_success"] == 1000
    assert values[p + "cache_s3_buckets_for_account.last_success"] == 1000
    assert values[p + "cache_s3_buckets_across_accounts.time_since_last_success"] == 99
    assert values[p + "cache_cloud_account_mapping.last_success"] == 900
    assert p + "cache_policies_table_details.last_success" not in values  # never succeeded: only time_since
    assert values[p + "cache_policies_table_details.time_since_last_success"] == 1100
    assert values[p + "report_celery_last_success_metrics.last_success"] == 1100


def test_shapes_name_the_field():
    good = {
        "arn": "arn:aws:iam::111111111111:role/a",
        "name": "a",
        "resourceId": "AROA",
        "accountId": "111111111111",
        "ttl": 1,
        "owner": None,
        "policy": "{}",
        "templated": None,
    }
    iam_entries = DATASETS["iam_resources"].shape.problems
    assert iam_entries("IAM_ROLE_CACHE", "roles", [(good["arn"], json.dumps(good))]) == []
    broken = {k: v for k, v in good.items() if k != "resourceId"}
    [problem] = iam_entries("IAM_ROLE_CACHE", "roles", [(good["arn"], json.dumps(broken))])
    assert "field 'resourceId' is missing" in problem and good["arn"] in problem
    [problem] = DATASETS["s3_buckets"].shape.problems("S3_BUCKETS", [("111111111111", '["a", 3]')])
    assert "S3_BUCKETS[111111111111]" in problem
    assert DATASETS["sqs_queues"].shape.problems("SQS_QUEUES", [("111111111111", '["q"]')])
    [problem] = DATASETS["cloudtrail_errors_by_arn"].shape.problems("ERRORS", {"arn:x": "3"})
    assert problem == "ERRORS[arn:x]: expected an int count, got '3'"
    assert shapes.missing_accounts(["1", "2"], {"1": True, "2": False}) == ["2"]


def test_metrics_for_materialization():
    ms = metrics_for_materialization(
        "s3_buckets", "111111111111", {"dagster/row_count": 3, "fetch_seconds": 0.5, "account_id": "x"}, 10.0
    )
    assert {(m.name, m.value) for m in ms} == {("materializations", 1), ("rows", 3.0), ("fetch_seconds", 0.5)}
    assert all(m.dimensions == {"Asset": "s3_buckets", "Account": "111111111111"} for m in ms)


def test_typeahead_and_templates_shape_names_the_field():
    typeahead, templates = (DATASETS[n].shape.problems for n in ("self_service_typeahead", "templated_resources"))
    good = {
        "icon": "user",
        "number_of_affected_resources": 1,
        "display_text": "app",
        "details_endpoint": "/api/v2/roles/1/app",
        "principal": {"principal_type": "AwsResource"},
    }
    assert typeahead("K", {"typeahead_entries": [good]}) == []
    assert typeahead("K", {"entries": []}) == ["K: field 'typeahead_entries' is missing or not a list"]
    bad = {**good, "number_of_affected_resources": "1"}
    assert typeahead("K", {"typeahead_entries": [bad]}) == [
        "K.typeahead_entries[0]: field 'number_of_affected_resources' should be int, got str"
    ]
    assert templates("K", {"templated_resources": [{"name": "x"}]})[0] == (
        "K.templated_resources[0]: field 'resource' is missing"
    )
