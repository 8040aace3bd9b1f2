"""Cutting a launch into runs over disjoint account ranges (lib/ranges.py), pure; the claims and the launch ledger
(stores/launches.py) against the real Redis."""

import threading
import time
from types import SimpleNamespace

import pytest

from consoleme_assets.lib.range_runs import RangeRun
from consoleme_assets.lib.ranges import (
    LAUNCH_TAG,
    RANGE_END,
    RANGE_START,
    RANGE_TAG,
    account_ranges,
    contiguous_ranges,
    place_of,
    range_run_requests,
    runs_for_selection,
)
from consoleme_assets.stores.launches import AccountClaims, LaunchStore

KEYS = [f"{n:012d}" for n in range(1, 8)]


def test_ranges_are_contiguous_disjoint_and_cover_every_account():
    ranges = account_ranges(KEYS, 3)
    assert ranges == [KEYS[0:3], KEYS[3:6], KEYS[6:7]]
    assert account_ranges(KEYS, None) == [KEYS]
    assert account_ranges([], 3) == []
    with pytest.raises(ValueError, match="max_accounts_per_run must be at least 1, not 0"):
        account_ranges(KEYS, 0)


def test_run_requests_share_a_launch_and_name_their_place():
    requests = range_run_requests(KEYS, 3, "iam_every_45_minutes@t", {"x": "y"}, run_key="tick")
    assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests] == [
        (KEYS[0], KEYS[2]),
        (KEYS[3], KEYS[5]),
        (KEYS[6], KEYS[6]),
    ]
    assert {r.tags[LAUNCH_TAG] for r in requests} == {"iam_every_45_minutes@t"}
    assert [r.tags[RANGE_TAG] for r in requests] == ["1/3", "2/3", "3/3"]
    assert [r.run_key for r in requests] == ["tick:1", "tick:2", "tick:3"]
    assert all(r.tags["x"] == "y" for r in requests)
    [whole] = range_run_requests(KEYS, None, "l", run_key="tick")  # not split: today's one run, no launch tags
    assert whole.run_key == "tick" and LAUNCH_TAG not in whole.tags and whole.tags[RANGE_END] == KEYS[-1]


def test_a_runs_place_comes_from_its_tags_or_its_backfill():
    place = place_of({LAUNCH_TAG: "l", RANGE_TAG: "2/3"}, KEYS[3:6])
    assert (place.launch, place.member, place.total) == ("l", "2", 3)
    backfill = place_of({"dagster/backfill": "abc"}, KEYS[3:6], backfill_total=3)
    assert (backfill.launch, backfill.member, backfill.total) == ("backfill:abc", KEYS[3], 3)
    assert place_of({}, KEYS).total == 1


def test_backfill_runs_are_counted_as_dagster_cuts_them():
    chosen = [KEYS[0], KEYS[1], KEYS[2], KEYS[4], KEYS[5]]  # two stretches: 3 and 2 accounts
    assert contiguous_ranges(KEYS, set(chosen)) == [KEYS[0:3], KEYS[4:6]]
    assert runs_for_selection(KEYS, chosen, 2) == 3
    assert runs_for_selection(KEYS, chosen, None) == 2


def test_claims_are_all_or_nothing_and_only_the_holder_releases(redis_client):
    a = AccountClaims(redis_client, "iam_resources", "run-a", ttl_seconds=60)
    b = AccountClaims(redis_client, "iam_resources", "run-b", ttl_seconds=60)
    other_dataset = AccountClaims(redis_client, "s3_buckets", "run-b", ttl_seconds=60)
    assert a.try_claim(KEYS[0:3]) is None
    assert b.try_claim(KEYS[2:5]) == (KEYS[2], "run-a")
    assert b.holder(KEYS[3]) is None  # nothing of the refused claim was kept
    assert other_dataset.try_claim(KEYS[0:3]) is None  # claims are per dataset
    assert b.release(KEYS[0:3]) == 0  # not b's to release
    assert a.renew(KEYS[0:3]) == 3
    assert 50_000 < redis_client.pttl(a.key(KEYS[0])) <= 60_000
    assert a.release(KEYS[0:3]) == 3
    assert b.try_claim(KEYS[2:5]) is None


def test_a_dead_runs_claims_expire(redis_client):
    dead = AccountClaims(redis_client, "iam_resources", "run-dead", ttl_seconds=1)
    assert dead.try_claim(KEYS[:2]) is None
    later = AccountClaims(redis_client, "iam_resources", "run-next", ttl_seconds=60)
    assert later.try_claim(KEYS[:2]) == (KEYS[0], "run-dead")
    time.sleep(1.1)
    assert later.try_claim(KEYS[:2]) is None


def test_exactly_one_run_completes_a_launch(redis_client):
    store = LaunchStore(redis_client)
    finished = [store.finish_range("iam_resources", "l", m, 3) for m in ("2", "1", "1", "3")]
    assert finished == [False, False, False, True]  # "1" twice (a retry) counts once
    assert store.finish_range("iam_resources", "other", "1", 1)


def _run(run_id, accounts, client, log):
    context = SimpleNamespace(run=SimpleNamespace(run_id=run_id, tags={}), run_id=run_id, partition_keys=accounts)
    return RangeRun(context, "iam_resources", LaunchStore(client), None, sleep=lambda s: time.sleep(0.02))


def test_a_run_waits_for_the_run_holding_one_of_its_accounts(redis_client):
    lines: list[str] = []
    log = SimpleNamespace(info=lines.append)
    first, second = _run("run-1", KEYS[0:3], redis_client, log), _run("run-2", KEYS[2:5], redis_client, log)
    order: list[str] = []
    with first.holding(log):
        waiter = threading.Thread(target=lambda: _hold(second, log, order))
        waiter.start()
        time.sleep(0.3)
        order.append("first done")
    waiter.join(10)
    assert order == ["first done", "second refreshing"]
    assert any("waiting for run run-1, which is refreshing account 000000000003" in line for line in lines)
    assert first.claims.holder(KEYS[0]) is None and second.claims.holder(KEYS[4]) is None  # both released


def _hold(run, log, order):
    with run.holding(log):
        order.append("second refreshing")
