"""S3 copies written only when their data changed (stores/s3_copies.py), against redis-server and moto: a combined
file is skipped while its hashes did not change, rewritten after any change whoever made it, and a change that
lands while a combined file is being written is not lost."""

from __future__ import annotations

import pytest

from consoleme_assets.lib.resources import ConsoleMeResource
from consoleme_assets.settings import S3Object
from consoleme_assets.stores.encoding import StringMap
from consoleme_assets.stores.reports import WriteReport
from consoleme_assets.stores.s3_copies import S3_DIGESTS_KEY

COMBINED = S3Object(file="test/combined_v1.json.gz")


@pytest.fixture
def caches(sandbox_env, redis_client):
    return ConsoleMeResource().caches()


def write(caches, data) -> WriteReport:
    report = WriteReport()
    caches.s3_copies.put(COMBINED, StringMap(iter(data.items())), report, skip_if_recent=True)
    return report


def stored(caches) -> dict:
    return caches.s3.get_json(caches.settings.consoleme_s3_bucket, COMBINED.key())


def test_a_combined_file_is_skipped_until_its_data_changes(caches):
    assert write(caches, {"a": "1"}).s3_uris
    assert write(caches, {"a": "1"}).s3_unchanged == 1  # nothing forgot it: recent, skipped
    caches.s3_copies.forget(COMBINED)  # e.g. a role-change event, or another range's run
    assert write(caches, {"a": "2"}).s3_uris
    assert stored(caches) == {"a": "2"}
    assert write(caches, {"a": "2"}).s3_unchanged == 1


def test_a_change_during_the_write_is_not_lost(caches):
    """The hash changes while the combined file is being streamed out of it: the file may miss the change, so
    the next write may not be skipped."""

    def rows():
        yield "a", "1"
        caches.s3_copies.forget(COMBINED)  # the change lands mid-write
        yield "b", "1"

    report = WriteReport()
    caches.s3_copies.put(COMBINED, StringMap(rows()), report, skip_if_recent=True)
    assert report.s3_uris
    assert write(caches, {"a": "1", "b": "2"}).s3_uris  # rewritten, not skipped
    assert write(caches, {"a": "1", "b": "2"}).s3_unchanged == 1


def test_entries_without_a_change_count_are_rewritten_once(caches, redis_client):
    """Entries a release before change counts wrote ("<sha>:<epoch>") are not trusted: one rewrite."""
    uri = f"s3://{caches.settings.consoleme_s3_bucket}/{COMBINED.key()}"
    redis_client.hset(S3_DIGESTS_KEY, uri, f"*:{int(caches.redis.clock())}")
    assert write(caches, {"a": "1"}).s3_uris
    assert write(caches, {"a": "1"}).s3_unchanged == 1


def test_digested_copies_are_skipped_only_with_the_same_data(caches):
    obj = S3Object(file="test/list_v1.json.gz")
    for data, written in ((["x"], True), (["x"], False), (["x", "y"], True)):
        report = WriteReport()
        caches.s3_copies.put(obj, data, report, if_changed=True)
        assert bool(report.s3_uris) is written, data
