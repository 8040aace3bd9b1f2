"""completed_in_turn: every item once, failures delivered, and no more than 2 x workers unconsumed."""

import threading

import pytest

from consoleme_assets.lib.concurrency import completed_in_turn


def test_each_item_once_and_submissions_bounded_by_the_consumer():
    started, lock = [], threading.Lock()

    def fetch(item: int) -> int:
        with lock:
            started.append(item)
        return item * 10

    seen = []
    for item, future in completed_in_turn(fetch, range(50), max_workers=3):
        # The consumer is slow (it has not asked for more): at most 2 x 3 fetched ahead of it.
        with lock:
            assert len(started) - len(seen) <= 6
        seen.append(item)
        assert future.result() == item * 10
    assert sorted(seen) == list(range(50))


def test_a_failing_item_does_not_stop_the_others():
    def fetch(item: int) -> int:
        if item == 3:
            raise RuntimeError("account 3 refused")
        return item

    results = {}
    for item, future in completed_in_turn(fetch, range(8), max_workers=2):
        try:
            results[item] = future.result()
        except RuntimeError as exc:
            results[item] = str(exc)
    assert results == {0: 0, 1: 1, 2: 2, 3: "account 3 refused", 4: 4, 5: 5, 6: 6, 7: 7}


def test_no_items():
    assert list(completed_in_turn(lambda x: x, [], max_workers=4)) == []


@pytest.mark.parametrize("workers", [0, 1])
def test_at_least_one_worker(workers):
    assert [i for i, _ in completed_in_turn(lambda x: x, [1], max_workers=workers)] == [1]
