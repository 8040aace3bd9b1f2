"""Unusual but legal IAM data: unicode and maximum-length names, paths and tags, policy documents near the
size limit and with characters URL-encoding mangles. Each is cached exactly as AWS returned it; the refresh does not crash."""

import json

import boto3

LONG_PATH = "/" + "/".join(["p" * 50] * 9) + "/"  # 469 characters: within IAM's 512
UNICODE = "équipe-données-チーム-🚀"


def test_unicode_long_and_large_entries_are_cached_exactly(
    accounts_ready, demo_org, refresh_iam, redis_client, member_client
):
    member = demo_org.member_account_ids[0]
    iam = member_client(member, "iam")
    name = "r" * 64  # IAM's maximum role name length
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(
        RoleName=name,
        Path=LONG_PATH,
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "owner", "Value": UNICODE}, {"Key": "k" * 128, "Value": "v" * 256}],
        Description=UNICODE,
    )["Role"]["Arn"]
    big = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"}
            for i in range(90)  # close to IAM's 10,240-character limit for an inline role policy
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="big", PolicyDocument=json.dumps(big))
    # Characters URL-encoding mangles ("+", "%", spaces): IAM hands policy documents over URL-encoded.
    tricky = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::a+b%20c d"}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="tricky", PolicyDocument=json.dumps(tricky))

    assert refresh_iam(partition_key=member).success
    entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", arn))
    assert entry["owner"] == UNICODE and entry["name"] == name
    detail = json.loads(entry["policy"])
    assert detail["Path"] == LONG_PATH and detail["Arn"] == arn
    assert {t["Key"]: t["Value"] for t in detail["Tags"]}["k" * 128] == "v" * 256
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in detail["RolePolicyList"]}
    assert len(json.dumps(policies["big"])) > 8000
    assert policies["tricky"] == tricky  # decoded once, exactly: "+" stays "+", "%20" stays "%20"
    item = (
        boto3.resource("dynamodb")
        .Table("consoleme_iamroles_global")
        .get_item(Key={"arn": arn, "accountId": member})["Item"]
    )
    assert json.loads(item["policy"]) == detail and item["owner"] == UNICODE
