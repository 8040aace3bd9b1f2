"""A moto server pre-filled with N accounts x M roles, written straight into moto's backends in-process.

    python -m benchmarks.moto_seeded --port 5099 --accounts 100 --roles 200 [--manifest out.json]

Seeding 100 x 200 over HTTP takes many minutes; writing the backends directly takes seconds. The server is
the sandbox's (`consoleme_assets.sandbox.moto_process`: werkzeug, deterministic Organizations account ids,
the small AWS-managed policy set). Per account: the spoke role `ConsoleMe`, M roles (trust policy, tags,
one inline and two attached policies), users in two groups, customer managed policies, buckets, and SQS
queues, SNS topics and AWS Config rows in two regions. The hub (moto's default account) holds the
organization, the org-reader role, the cache bucket and ConsoleMe's DynamoDB tables.

When seeding is done the manifest (account ids, counts, seconds) is written as JSON to --manifest, and
"ready" is printed; the process serves until SIGTERM/SIGINT or until --parent-pid dies.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from consoleme_assets.sandbox.moto_process import install_patches
from consoleme_assets.sandbox.seed import (
    CACHE_BUCKET,
    DYNAMODB_TABLES,
    HUB_ACCOUNT_ID,
    ORG_READER_ROLE,
    SPOKE_ROLE,
)

REGIONS = ("us-east-1", "us-west-2")
CONFIG_QUERY = "select * where accountId = '{account_id}'"  # the default all_resources_query
_HUB_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
_SERVICE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def _allow(actions: list[str], resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
    )


def config_rows(account_id: str, region: str, count: int) -> list[str]:
    """SelectResourceConfig result rows (JSON strings), shaped like AWS Config's."""
    rows = []
    for i in range(count):
        rid = f"i-{account_id[-6:]}{region[-1]}{i:05d}"
        rows.append(
            json.dumps(
                {
                    "accountId": account_id,
                    "awsRegion": region,
                    "resourceType": "AWS::EC2::Instance",
                    "resourceId": rid,
                    "resourceName": rid,
                    "arn": f"arn:aws:ec2:{region}:{account_id}:instance/{rid}",
                    "configuration": {
                        "instanceType": "t3.micro",
                        "state": {"name": "running"},
                        "tags": [{"key": "Name", "value": f"bench+{i}"}],
                    },
                    "tags": [{"key": "Name", "value": f"bench {i}"}],
                    "configurationItemCaptureTime": "2026-01-01T00:00:00.000Z",
                }
            )
        )
    return rows


def seed(accounts: int, roles: int, users: int | None = None, config_per_region: int = 20) -> dict[str, Any]:
    """Fill moto's in-process backends. Returns the manifest."""
    from moto.config.models import config_backends
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends
    from moto.s3.models import s3_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    users = users if users is not None else max(5, roles // 20)
    t0 = time.monotonic()
    org = organizations_backends[HUB_ACCOUNT_ID]["aws"]
    org.create_organization(region="us-east-1", FeatureSet="ALL")
    member_ids = []
    for i in range(accounts):
        status = org.create_account(AccountName=f"bench-{i:04d}", Email=f"bench-{i:04d}@example.com")
        member_ids.append(status["CreateAccountStatus"]["AccountId"])

    hub_iam = iam_backends[HUB_ACCOUNT_ID]["global"]
    hub_iam.create_role(ORG_READER_ROLE, _HUB_TRUST, "/", None, "org reader", [], None)
    hub_iam.create_role(SPOKE_ROLE, _HUB_TRUST, "/", None, "spoke", [], None)
    s3_backends[HUB_ACCOUNT_ID]["global"].create_bucket(CACHE_BUCKET, "us-east-1")

    for account_id in member_ids:
        _seed_account(iam_backends[account_id]["global"], account_id, roles, users)
        s3 = s3_backends[account_id]["global"]
        for b in range(3):
            s3.create_bucket(f"bench-{account_id}-{b}", REGIONS[b % 2])
        for region in REGIONS:
            for q in range(2):
                sqs_backends[account_id][region].create_queue(f"bench-queue-{q}")
                sns_backends[account_id][region].create_topic(f"bench-topic-{q}")
            rows = config_rows(account_id, region, config_per_region)
            config = config_backends[account_id][region]
            config._expression_results[CONFIG_QUERY.format(account_id=account_id)] = rows
            # moto 5.2.5's SelectResourceConfig reads Expression from the query string, where a JSON-protocol
            # request has none, so it looks up "": answer that too (the backend is per account and region).
            config._expression_results[""] = rows
    return {
        "accounts": member_ids,
        "hub": HUB_ACCOUNT_ID,
        "roles_per_account": roles + 2,  # + ConsoleMe + OrganizationAccountAccessRole
        "users_per_account": users,
        "config_rows_per_region": config_per_region,
        "regions": list(REGIONS),
        "seed_seconds": round(time.monotonic() - t0, 2),
    }


def _seed_account(iam: Any, account_id: str, roles: int, users: int) -> None:
    spoke = iam.create_role(
        SPOKE_ROLE, _HUB_TRUST, "/", None, "spoke", [{"Key": "owner", "Value": "admins@example.com"}], None
    )
    iam.put_role_policy(spoke.name, "consoleme-spoke", _allow(["iam:Get*", "iam:List*"]))
    policy_arns = []
    for p in range(5):
        policy = iam.create_policy(
            f"bench policy {p}", "/", _allow([f"s3:Get{p}"], f"arn:aws:s3:::bench-{p}/*"), f"bench-policy-{p}", []
        )
        policy_arns.append(policy.arn)
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for r in range(roles):
        name = f"bench-role-{r:04d}"
        tags = [
            {"Key": "owner", "Value": f"team-{r % 7}@example.com"},
            {"Key": "consoleme-authorized", "Value": f"group{r % 5}@example.com"},
        ]
        iam.create_role(name, _HUB_TRUST if r % 2 else _SERVICE_TRUST, "/", None, "bench role", tags, None)
        iam.put_role_policy(
            name, "inline", _allow(["logs:PutLogEvents", "sqs:SendMessage"], f"arn:aws:sqs:*:{account_id}:q{r}")
        )
        iam.attach_role_policy(policy_arns[r % 5], name)
        iam.attach_role_policy(readonly, name)
    for g in ("developers", "auditors"):
        iam.create_group(g, "/")
        iam.put_group_policy(g, f"{g}-inline", _allow(["xray:GetTraceSummaries"]))
    for u in range(users):
        name = f"bench-user-{u:03d}"
        iam.create_user("us-east-1", name, "/", [{"Key": "owner", "Value": "people@example.com"}])
        iam.add_user_to_group("developers" if u % 2 else "auditors", name)
        iam.put_user_policy(name, "user-inline", _allow(["s3:ListBucket"]))


def create_hub_tables(endpoint_url: str) -> None:
    """ConsoleMe's DynamoDB tables in the hub, over HTTP (six calls; no streams: not what we measure)."""
    import boto3

    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for table, (keys, indexes, _ttl) in DYNAMODB_TABLES.items():
        attributes = dict.fromkeys((*keys, *indexes.values()))
        gsis = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, key in indexes.items()
        ]
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
            **({"GlobalSecondaryIndexes": gsis} if gsis else {}),
        )


def _with_latency(app, seconds: float):
    """A WSGI wrapper that delays every answer; sleeping costs no CPU, so moto's own cost is unchanged."""

    def delayed(environ, start_response):
        time.sleep(seconds)
        return app(environ, start_response)

    return delayed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.moto_seeded", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--config-rows", type=int, default=20, help="AWS Config rows per account and region")
    parser.add_argument("--manifest", help="write the manifest JSON here when ready")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="sleep this long before answering each request (AWS is not on loopback)",
    )
    args = parser.parse_args(argv)

    os.environ.pop("MOTO_ACCOUNT_ID", None)
    os.environ["MOTO_PORT"] = str(args.port)
    install_patches("demo")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    manifest = seed(args.accounts, args.roles, args.users, args.config_rows)
    app = DomainDispatcherApplication(create_backend_app)
    if args.latency_ms > 0:
        app = _with_latency(app, args.latency_ms / 1000)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    thread = threading.Thread(target=server.serve_forever, name="moto-http", daemon=True)
    thread.start()
    create_hub_tables(f"http://{args.host}:{args.port}")
    if args.manifest:
        tmp = args.manifest + ".partial"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh)
        os.replace(tmp, args.manifest)
    print(
        f"ready: {len(manifest['accounts'])} accounts seeded in {manifest['seed_seconds']}s "
        f"on http://{args.host}:{args.port} (pid {os.getpid()})",
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        if args.parent_pid is not None and os.getppid() != args.parent_pid:
            break
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
