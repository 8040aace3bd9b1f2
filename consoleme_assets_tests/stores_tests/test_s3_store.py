"""The S3 envelope ConsoleMe reads, written to a real (moto) S3 endpoint."""

import gzip
import io
import json

import boto3
import pytest

from consoleme_assets.stores import S3Store, envelope, open_envelope


@pytest.fixture
def s3(moto, aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket="cache")
    return client


def test_gz_key_is_gzipped_indented_envelope(s3):
    S3Store(s3, clock=lambda: 1_700_000_123.9).put_json("cache", "a/b_v1.json.gz", ["x", "y"])
    raw = s3.get_object(Bucket="cache", Key="a/b_v1.json.gz")["Body"].read()
    text = gzip.decompress(raw).decode()
    assert json.loads(text) == {"last_updated": 1700000123, "data": ["x", "y"]}
    assert text.startswith('{\n  "last_updated"')  # indent=2, as ConsoleMe writes it


def test_plain_key_is_not_gzipped(s3):
    S3Store(s3).put_json("cache", "plain.json", {"a": 1})
    body = s3.get_object(Bucket="cache", Key="plain.json")["Body"].read()
    assert json.loads(body)["data"] == {"a": 1}


def test_read_back_and_missing(s3):
    store = S3Store(s3)
    store.put_json("cache", "k.json.gz", {"accounts": []})
    assert store.get_json("cache", "k.json.gz") == {"accounts": []}
    assert store.get_json("cache", "absent.json.gz") is None


def test_identical_data_gives_identical_bytes():
    assert envelope([1, 2], 5, gz=True) == envelope([1, 2], 5, gz=True)


def test_open_envelope_rejects_other_json():
    with pytest.raises(ValueError, match="no 'data' field"):
        open_envelope(b'{"something": 1}', gz=False)


@pytest.mark.parametrize("gz", [True, False])
def test_streamed_string_map_is_the_same_envelope(gz):
    """Combined files are streamed from HSCAN; the text must be what envelope() gives for the dict."""
    from consoleme_assets.stores.encoding import StringMap, envelope, write_envelope

    for pairs in (
        [],
        [("arn:aws:iam::1:role/a", '{"x": "é\\n"}'), ('k"2', "[]")],
        [(f"f{i}", f"v{i}") for i in range(2500)] + [("f7", "v7")],
    ):  # a duplicate from HSCAN
        out = io.BytesIO()
        data = StringMap(iter(pairs))
        write_envelope(out, data, 1700000000, gz)
        assert out.getvalue() == envelope(dict(pairs), 1700000000, gz)
        assert data.count == len(dict(pairs))
