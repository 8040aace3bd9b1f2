"""Redis writes in ConsoleMe's shapes, against a real redis-server."""

import json
import threading

from consoleme_assets.stores import RedisStore

STAMP = "STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED"


def store(client, now=1_700_000_000.7):
    return RedisStore(client, STAMP, clock=lambda: now)


def test_set_json_writes_string_and_stamp(redis_client):
    written = store(redis_client).set_json("ALL_AWS_ACCOUNTS", {"accounts": [{"id": "111122223333"}], "s": {"b"}})
    raw = redis_client.get("ALL_AWS_ACCOUNTS")
    assert json.loads(raw) == {"accounts": [{"id": "111122223333"}], "s": ["b"]}  # sets become lists
    assert written == len(raw)
    assert redis_client.hget(STAMP, "ALL_AWS_ACCOUNTS") == "1700000000"  # epoch int, as ConsoleMe
    assert redis_client.ttl("ALL_AWS_ACCOUNTS") == -1  # no expiry unless asked


def test_set_json_with_expiry(redis_client):
    store(redis_client).set_json("CLOUDTRAIL_ERRORS_BY_ARN", {"arn": 1}, expire_seconds=86400)
    assert 86000 < redis_client.ttl("CLOUDTRAIL_ERRORS_BY_ARN") <= 86400


def test_set_fields_only_touches_given_fields(redis_client):
    redis_client.hset("S3_BUCKETS", mapping={"111111111111": '["a"]', "222222222222": '["b"]'})
    store(redis_client).set_fields("S3_BUCKETS", {"111111111111": ["c", "d"]})
    assert redis_client.hgetall("S3_BUCKETS") == {"111111111111": '["c", "d"]', "222222222222": '["b"]'}
    assert redis_client.hexists(STAMP, "S3_BUCKETS")


def owner_of_arn(key, field, value):
    return field.split(":")[4]


def test_replace_account_entries_swaps_one_accounts_entries(redis_client):
    redis_client.hset(
        "IAM_ROLE_CACHE",
        mapping={
            "arn:aws:iam::111111111111:role/keep": "old",
            "arn:aws:iam::111111111111:role/deleted-in-aws": "old",
            "arn:aws:iam::222222222222:role/other-account": "other",
        },
    )
    redis_client.hset("IAM_POLICY_CACHE", "arn:aws:iam::aws:policy/ReadOnlyAccess", "from-another-account")
    s = store(redis_client)
    result = s.replace_account_entries(
        "111111111111",
        {
            "IAM_ROLE_CACHE": {
                "arn:aws:iam::111111111111:role/keep": {"v": 2},
                "arn:aws:iam::111111111111:role/new": {"v": 1},
            },
            "IAM_POLICY_CACHE": {"arn:aws:iam::aws:policy/ReadOnlyAccess": {"v": 1}},
        },
        owner_of=owner_of_arn,
        shared=lambda f: f.split(":")[4] == "aws",
    )
    assert result["IAM_ROLE_CACHE"] == {"written": 2, "deleted": 1}
    assert redis_client.hgetall("IAM_ROLE_CACHE") == {
        "arn:aws:iam::111111111111:role/keep": '{"v": 2}',
        "arn:aws:iam::111111111111:role/new": '{"v": 1}',
        "arn:aws:iam::222222222222:role/other-account": "other",
    }
    # Next refresh: the index (not a scan) says what the account owns; shared fields are never deleted.
    s.replace_account_entries(
        "111111111111",
        {"IAM_ROLE_CACHE": {}, "IAM_POLICY_CACHE": {}},
        owner_of=lambda *a: None,
        shared=lambda f: f.split(":")[4] == "aws",
    )
    assert redis_client.hgetall("IAM_ROLE_CACHE") == {"arn:aws:iam::222222222222:role/other-account": "other"}
    assert redis_client.hexists("IAM_POLICY_CACHE", "arn:aws:iam::aws:policy/ReadOnlyAccess")


def test_replace_account_entries_readers_never_see_half(redis_client, redis_server):
    """A reader polling during many replaces sees either the whole old set or the whole new set."""
    key = "H"
    old = {f"a:{i}": "old" for i in range(300)}
    new = {f"a:{i}": "new" for i in range(150, 450)}
    redis_client.hset(key, mapping=old)
    seen, stop = set(), threading.Event()
    reader = redis_server.client(decode_responses=True)

    def poll():
        while not stop.is_set():
            snap = reader.hgetall(key)
            seen.add((len(snap), frozenset(snap.values())))

    thread = threading.Thread(target=poll)
    thread.start()
    s = store(redis_client)
    for i in range(20):
        s.replace_account_entries(
            "a", {key: new if i % 2 == 0 else old}, owner_of=lambda k, f, v: "a" if f.startswith("a:") else None
        )
    stop.set()
    thread.join()
    assert seen <= {(300, frozenset({"old"})), (300, frozenset({"new"}))}


def test_get_fields_skips_missing(redis_client):
    redis_client.hset("S3_BUCKETS", "111111111111", '["x"]')
    got = store(redis_client).get_fields("S3_BUCKETS", ["111111111111", "999999999999"])
    assert got == {"111111111111": ["x"]}


def test_first_refresh_scans_each_hash_once_for_all_accounts(redis_client, monkeypatch):
    """Without owner indexes (a first refresh over ConsoleMe's caches), one HSCAN per hash serves every
    account of the run, and each account still loses exactly its own stale fields."""
    accounts = [f"{n:012d}" for n in range(1, 6)]
    redis_client.hset(
        "IAM_ROLE_CACHE",
        mapping={f"arn:aws:iam::{a}:role/{r}": "old" for a in accounts for r in ("kept", "gone")},
    )
    s = store(redis_client)
    scans = []
    real_scan = s.client.hscan_iter
    monkeypatch.setattr(s.client, "hscan_iter", lambda key, **kw: scans.append(key) or real_scan(key, **kw))
    for a in accounts:
        counts = s.replace_account_entries(
            a, {"IAM_ROLE_CACHE": {f"arn:aws:iam::{a}:role/kept": {"v": 2}}}, owner_of=owner_of_arn
        )
        assert counts == {"IAM_ROLE_CACHE": {"written": 1, "deleted": 1}}, a
    assert scans == ["IAM_ROLE_CACHE"]
    assert redis_client.hgetall("IAM_ROLE_CACHE") == {f"arn:aws:iam::{a}:role/kept": '{"v": 2}' for a in accounts}
