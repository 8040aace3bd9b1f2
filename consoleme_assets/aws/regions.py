"""Reading one account region by region (regional inventory lists, AWS Config): a region that answers with an
AWS error is named and skipped, so the caller can keep that region's cached entries instead of dropping them
(ConsoleMe skipped such a region too); only an account whose every region fails fails as a whole."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from .sessions import AccountAccessError, describe_aws_error

T = TypeVar("T")

# Errors that mean "this region could not be read". Anything else fails the account at once: a refused spoke
# role (AccountAccessError) is the account's problem, not a region's.
REGION_ERRORS: tuple[type[BaseException], ...] = (ClientError, BotoCoreError)


class AllRegionsFailed(RuntimeError):
    """Every region of an account failed: the account fails and keeps its previous cache whole."""

    def __init__(self, account_id: str, what: str, failed: dict[str, str]):
        details = "; ".join(f"{region}: {error}" for region, error in failed.items())
        super().__init__(f"account {account_id}: listing {what} failed in every region ({details})")
        self.account_id = account_id
        self.failed = dict(failed)


@dataclass(frozen=True)
class RegionReads(Generic[T]):
    """What each region of one account returned, and the regions that failed."""

    account_id: str
    found: dict[str, T]  # region -> its answer, in the order the regions were given
    failed: dict[str, str] = field(default_factory=dict)  # region -> AWS error text, in the same order

    @property
    def regions_read(self) -> list[str]:
        return list(self.found)


def read_regions(
    account_id: str,
    regions: Iterable[str],
    what: str,
    read_region: Callable[[str], T],
    workers: int = 1,
    region_errors: tuple[type[BaseException], ...] = REGION_ERRORS,
) -> RegionReads[T]:
    """`read_region` for each region, `workers` at a time (1: in turn, on this thread). A region raising one of
    `region_errors` is recorded and skipped, unless every region does: then `AllRegionsFailed`. No regions is
    an empty result, not a failure. Any other error fails the account, naming the region (an AccountAccessError,
    which names the account already, passes unchanged)."""
    regions = list(dict.fromkeys(regions))  # a region named twice is read once
    answers: dict[str, T] = {}
    errors: dict[str, str] = {}

    def attempt(region: str, call: Callable[[], T]) -> None:
        try:
            answers[region] = call()
        except region_errors as exc:
            errors[region] = describe_aws_error(exc)
        except AccountAccessError:
            raise
        except Exception as exc:
            raise RuntimeError(f"account {account_id}, region {region}: {describe_aws_error(exc)}") from exc

    if workers <= 1 or len(regions) <= 1:
        for region in regions:
            attempt(region, lambda: read_region(region))  # noqa: B023 - called before the loop moves on
    else:
        with ThreadPoolExecutor(
            max_workers=min(workers, len(regions)), thread_name_prefix=f"regions-{account_id}"
        ) as pool:
            futures = {pool.submit(read_region, region): region for region in regions}
            try:
                for future in as_completed(futures):
                    attempt(futures[future], future.result)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    if regions and not answers:
        raise AllRegionsFailed(account_id, what, {r: errors[r] for r in regions if r in errors})
    return RegionReads(
        account_id,
        found={r: answers[r] for r in regions if r in answers},
        failed={r: errors[r] for r in regions if r in errors},
    )
