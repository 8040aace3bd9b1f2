"""`read_regions`, the one region fan-out of the regional inventory lists and AWS Config: pure, no AWS needed (an
AWS error is a botocore ClientError built here)."""

import threading

import pytest
from botocore.exceptions import ClientError

from consoleme_assets.aws.regions import AllRegionsFailed, read_regions
from consoleme_assets.aws.sessions import AccountAccessError

ACCOUNT = "111122223333"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"]


def denied(region):
    return ClientError({"Error": {"Code": "AccessDenied", "Message": f"no {region}"}}, "ListQueues")


class QuotaError(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 3])
def test_failed_regions_are_named_and_the_rest_kept_in_the_given_order(workers):
    threads = set()

    def read(region):
        threads.add(threading.current_thread().name)
        if region in ("eu-west-1", "ap-south-1"):
            raise denied(region)
        return [f"arn:{region}"]

    reads = read_regions(ACCOUNT, [*REGIONS, "us-east-1"], "SQS queues", read, workers=workers)
    assert reads.found == {"us-east-1": ["arn:us-east-1"], "us-west-2": ["arn:us-west-2"]}
    assert list(reads.failed) == ["eu-west-1", "ap-south-1"]  # the given order, whatever finished first
    assert reads.failed["eu-west-1"] == "ListQueues: AccessDenied: no eu-west-1"
    assert reads.regions_read == ["us-east-1", "us-west-2"] and reads.account_id == ACCOUNT
    if workers == 1:
        assert threads == {threading.current_thread().name}  # in turn, on the caller's thread
    else:
        assert all(name.startswith(f"regions-{ACCOUNT}") for name in threads)


@pytest.mark.parametrize("workers", [1, 4])
def test_every_region_failing_fails_the_account_naming_each(workers):
    with pytest.raises(AllRegionsFailed) as err:
        read_regions(
            ACCOUNT, REGIONS[:2], "AWS Config resources", lambda r: (_ for _ in ()).throw(denied(r)), workers=workers
        )
    assert err.value.account_id == ACCOUNT and list(err.value.failed) == REGIONS[:2]
    assert str(err.value) == (
        f"account {ACCOUNT}: listing AWS Config resources failed in every region (us-east-1: "
        "ListQueues: AccessDenied: no us-east-1; eu-west-1: ListQueues: AccessDenied: no eu-west-1)"
    )


def test_no_regions_is_empty_not_a_failure():
    reads = read_regions(ACCOUNT, [], "SNS topics", lambda r: [r])
    assert reads.found == {} and reads.failed == {}


@pytest.mark.parametrize("workers", [1, 2])
def test_caller_errors_count_as_region_errors_only_when_named(workers):
    def read(region):
        if region == "us-east-1":
            raise QuotaError("same NextToken twice")
        return [region]

    reads = read_regions(ACCOUNT, REGIONS[:2], "x", read, workers=workers, region_errors=(QuotaError,))
    assert reads.failed == {"us-east-1": "QuotaError: same NextToken twice"} and reads.regions_read == ["eu-west-1"]
    with pytest.raises(RuntimeError, match=f"^account {ACCOUNT}, region us-east-1: QuotaError: same NextToken") as err:
        read_regions(ACCOUNT, REGIONS[:2], "x", read, workers=workers)
    assert isinstance(err.value.__cause__, QuotaError)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_refused_spoke_role_fails_the_account_unchanged(workers):
    refused = AccountAccessError(ACCOUNT, "cannot assume arn:aws:iam::111122223333:role/ConsoleMe: AccessDenied")

    def read(region):
        raise refused

    with pytest.raises(AccountAccessError) as err:
        read_regions(ACCOUNT, REGIONS[:2], "x", read, workers=workers)
    assert err.value is refused
