"""Fetching accounts on a thread pool without buffering them all; the per-dataset pools and run tag."""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")

# Run tag naming the dataset(s) a run refreshes, set on every job and schedule launch (for filtering runs).
DATASET_TAG = "consoleme_assets/dataset"


def dataset_pool(name: str) -> str:
    """The Dagster pool of a dataset's step. dagster.yaml gives every pool one slot per run (`granularity: run`):
    a second refresh of the same dataset queues until the first ends, however it was launched (UI, backfill,
    schedule, sensor); run tags cannot do that for UI launches, which carry no job tags."""
    return f"consoleme/{name}"


def completed_in_turn(
    fn: Callable[[Item], object], items: Iterable[Item], max_workers: int, thread_name_prefix: str = "account"
) -> Iterator[tuple[Item, Future]]:
    """Run `fn` over `items` on `max_workers` threads; yield (item, its finished future) as each completes.

    At most 2 x max_workers items are submitted and not yet consumed. Submitting everything up front lets
    finished results pile up whenever the consumer (who writes them, one at a time) is slower than the
    fetchers: measured, 300 MB more peak memory at 100 accounts than at 12.
    """
    pending = iter(items)
    limit = 2 * max(1, max_workers)
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix=thread_name_prefix) as pool:
        in_flight: dict[Future, Item] = {}

        def top_up() -> None:
            while len(in_flight) < limit:
                item = next(pending, _END)
                if item is _END:
                    return
                in_flight[pool.submit(fn, item)] = item

        top_up()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                item = in_flight.pop(future)
                yield item, future
                top_up()


_END = object()
