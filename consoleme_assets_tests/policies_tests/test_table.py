"""The policies table transform (spec §6.3), without Redis or AWS."""

import json
from urllib.parse import unquote_plus

from consoleme_assets.policies.table import HistoryUrls, TableInputs, build_policies_table

A, B = "111122223333", "444455556666"


def inputs(**overrides):
    base = dict(
        roles=[(f"arn:aws:iam::{A}:role/app", "AROA1")],
        users=[(f"arn:aws:iam::{A}:user/alice", "AIDA1")],
        s3_buckets={A: ["logs"], B: ["data"]},
        sns_topics={A: [f"arn:aws:sns:us-east-1:{A}:t"]},
        sqs_queues={B: [f"arn:aws:sqs:us-west-2:{B}:q"]},
        managed_policies={A: [f"arn:aws:iam::{A}:policy/mine", "arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        config_resources=[
            (f"arn:aws:ec2:us-east-1:{A}:instance/i-1", "AWS::EC2::Instance", A),
            (f"arn:aws:iam::{A}:user/alice", "AWS::IAM::User", A),  # ConsoleMe listed users twice
            (f"arn:aws:sqs:us-west-2:{B}:q", "AWS::SQS::Queue", B),
            ("arn:aws:s3:::logs/obj", "AWS::S3::Object", A),  # no account in the ARN: the item's accountId
        ],
        account_names={A: "prod"},
        cloudtrail_errors={f"arn:aws:iam::{A}:role/app": 3},
        s3_errors={f"arn:aws:iam::{A}:role/app": [{"count": 2}, {"count": "1"}], "arn:aws:s3:::logs": [{"count": 4}]},
        templated={f"arn:aws:iam::{A}:role/app": "https://git/templates/app.yaml"},
    )
    base.update(overrides)
    return TableInputs(**base)


def test_rows_in_consoleme_shape_and_order():
    rows = build_policies_table(inputs(), HistoryUrls(region="eu-west-1"))
    assert [r["technology"] for r in rows] == [
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::S3::Bucket",
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "managed_policy",
        "AWS::EC2::Instance",
        "AWS::S3::Object",
    ]
    role = rows[0]
    assert list(role) == [
        "account_id",
        "account_name",
        "arn",
        "technology",
        "templated",
        "errors",
        "config_history_url",
    ]
    assert role["errors"] == 6 and role["templated"] == "https://git/templates/app.yaml"
    assert role["account_name"] == "prod"
    redirect = unquote_plus(role["config_history_url"].split("redirect=")[1])
    assert role["config_history_url"].startswith(f"/role/{A}?redirect=")
    assert redirect == (
        "https://eu-west-1.console.aws.amazon.com/config/home?#/resources/timeline?"
        f"resourceId=AROA1&resourceName=arn:aws:iam::{A}:role/app&resourceType=AWS::IAM::Role"
    )
    bucket = next(r for r in rows if r["arn"] == "arn:aws:s3:::logs")
    assert bucket == {
        "account_id": A,
        "account_name": "prod",
        "arn": "arn:aws:s3:::logs",
        "technology": "AWS::S3::Bucket",
        "templated": None,
        "errors": 4,
    }
    assert next(r for r in rows if r["arn"] == "arn:aws:s3:::data")["account_name"] == "Unknown"
    assert [r["arn"] for r in rows if r["technology"] == "managed_policy"] == [f"arn:aws:iam::{A}:policy/mine"]
    assert sum(r["arn"].endswith("user/alice") for r in rows) == 1
    assert next(r for r in rows if r["technology"] == "AWS::S3::Object")["account_id"] == A
    json.dumps(rows)  # plain JSON types only


def test_nothing_configured_gives_empty_table_and_skips_are_safe():
    assert build_policies_table(TableInputs(), HistoryUrls()) == []
    rows = build_policies_table(inputs(roles=()), HistoryUrls())  # ConsoleMe crashed with skip_iam_roles
    assert "AWS::IAM::Role" not in {r["technology"] for r in rows}


def test_conglomo_urls():
    rows = build_policies_table(inputs(), HistoryUrls(region="us-west-2", conglomo_url="https://cg.example"))
    assert rows[0]["config_history_url"] == f"https://cg.example/resource/{A}/us-west-2/AWS::IAM::Role/QVJPQTE="
