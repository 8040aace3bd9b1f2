"""`policies_table` over ~100,000 rows: time and peak memory of the asset's gather step + build_policies_table.

    python -m benchmarks.policies_bench --redis-url redis://127.0.0.1:6379/5 --rows 100000 [--json-out x.json]

Fills the given (scratch) Redis db with ConsoleMe-shaped caches sized so the table has about --rows rows
(roles 40 %, AWS Config resources 30 %, users, buckets, topics, queues, customer managed policies 6 % each;
role and user entries made by our own `iam.records` from GAAD-shaped details), then, in this process,
measures `policies.datasets.gather_inputs` and `policies.table.build_policies_table` (wall time, and peak RSS
above the process's high-water mark before the step, from getrusage), and the JSON encoding of the rows.
The db is flushed first and afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

SHARES = {
    "roles": 0.40,
    "config": 0.30,
    "users": 0.06,
    "s3_buckets": 0.06,
    "sns_topics": 0.06,
    "sqs_queues": 0.06,
    "managed_policies": 0.06,
}
ACCOUNTS = 100


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fill(client, settings, rows: int) -> dict[str, int]:
    """Write the caches; returns how many items of each kind."""
    from consoleme_assets.iam import records
    from consoleme_assets.stores.encoding import dumps_consoleme

    keys = settings.redis_keys
    per = {k: max(1, int(rows * share) // ACCOUNTS) for k, share in SHARES.items()}
    accounts = [f"{100000000000 + i:012d}" for i in range(ACCOUNTS)]
    client.set(
        keys.all_accounts,
        json.dumps({"accounts": [{"id": a, "name": f"bench-{a[-4:]}", "status": "active"} for a in accounts]}),
    )
    ttl = 2_000_000_000
    for a in accounts:
        pipe = client.pipeline(transaction=False)
        roles = {}
        for r in range(per["roles"]):
            arn = f"arn:aws:iam::{a}:role/bench-role-{r:04d}"
            detail = {
                "Path": "/",
                "RoleName": f"bench-role-{r:04d}",
                "RoleId": f"AROA{a}{r:05d}",
                "Arn": arn,
                "CreateDate": "2026-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "RolePolicyList": [
                    {
                        "PolicyName": "inline",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"}],
                        },
                    }
                ],
                "AttachedManagedPolicies": [
                    {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
                ],
                "Tags": [{"Key": "owner", "Value": "team@example.com"}],
                "InstanceProfileList": [],
            }
            roles[arn] = dumps_consoleme(records.role_entry(detail, a, ttl, ["owner"], None))
        pipe.hset(keys.iam_roles, mapping=roles)
        users = {}
        for u in range(per["users"]):
            arn = f"arn:aws:iam::{a}:user/bench-user-{u:03d}"
            detail = {
                "Path": "/",
                "UserName": f"bench-user-{u:03d}",
                "UserId": f"AIDA{a}{u:04d}",
                "Arn": arn,
                "CreateDate": "2026-01-01T00:00:00Z",
                "GroupList": ["developers"],
                "Tags": [],
                "UserPolicyList": [],
                "AttachedManagedPolicies": [],
            }
            users[arn] = dumps_consoleme(records.user_entry(detail, a, ttl, ["owner"]))
        pipe.hset(keys.iam_users, mapping=users)
        pipe.hset(keys.s3_buckets, a, json.dumps([f"bench-{a}-{i}" for i in range(per["s3_buckets"])]))
        pipe.hset(keys.sns_topics, a, json.dumps([f"arn:aws:sns:us-east-1:{a}:t{i}" for i in range(per["sns_topics"])]))
        pipe.hset(keys.sqs_queues, a, json.dumps([f"arn:aws:sqs:us-east-1:{a}:q{i}" for i in range(per["sqs_queues"])]))
        pipe.hset(
            keys.iam_managed_policies,
            a,
            json.dumps(
                [f"arn:aws:iam::{a}:policy/p{i}" for i in range(per["managed_policies"])]
                + ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            ),
        )
        config = {}
        for c in range(per["config"]):
            arn = f"arn:aws:ec2:us-east-1:{a}:instance/i-{c:08d}"
            config[arn] = json.dumps(
                {
                    "accountId": a,
                    "awsRegion": "us-east-1",
                    "resourceType": "AWS::EC2::Instance",
                    "resourceId": f"i-{c:08d}",
                    "arn": arn,
                    "ttl": ttl,
                    "configuration": {"instanceType": "t3.micro"},
                }
            ).replace("/", "\\/")
        pipe.hset(keys.aws_config_resources, mapping=config)
        pipe.execute()
    return {k: v * ACCOUNTS for k, v in per.items()}


def run(redis_url: str, rows: int) -> dict:
    os.environ["REDIS_URL"] = redis_url
    from consoleme_assets.policies.datasets import gather_inputs
    from consoleme_assets.policies.table import HistoryUrls, build_policies_table
    from consoleme_assets.settings import load_settings
    from consoleme_assets.stores import RedisStore
    from consoleme_assets.stores.caches import ConsoleMeCaches
    from consoleme_assets.stores.connect import redis_client_for
    from consoleme_assets.stores.encoding import dumps_consoleme

    settings = load_settings()
    client = redis_client_for(redis_url)
    client.flushdb()
    t0 = time.monotonic()
    counts = fill(client, settings, rows)
    fill_seconds = time.monotonic() - t0
    redis_used = int(client.info("memory")["used_memory"])
    caches = ConsoleMeCaches(settings, RedisStore(client, settings.redis_keys.last_updated), None, None)
    import gc

    gc.collect()
    base_rss, base_peak = _rss_bytes(), _maxrss_bytes()
    t0 = time.monotonic()
    inputs = gather_inputs(caches, settings)
    t1 = time.monotonic()
    table = build_policies_table(inputs, HistoryUrls(region=settings.region))
    t2 = time.monotonic()
    encoded = dumps_consoleme(table)
    t3 = time.monotonic()
    peak = _maxrss_bytes()
    client.flushdb()
    return {
        "rows": len(table),
        "items": counts,
        "fill_seconds": round(fill_seconds, 2),
        "redis_used_memory_bytes": redis_used,
        "gather_seconds": round(t1 - t0, 3),
        "build_seconds": round(t2 - t1, 3),
        "gather_plus_build_seconds": round(t2 - t0, 3),
        "json_encode_seconds": round(t3 - t2, 3),
        "json_bytes": len(encoded),
        "rss_before_bytes": base_rss,
        "peak_rss_bytes": peak,
        "peak_growth_bytes": max(0, peak - base_rss),  # upper bound: ru_maxrss is a high-water mark
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.policies_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True, help="a scratch Redis db (it is flushed)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    result = run(args.redis_url, args.rows)
    text = json.dumps(result, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
