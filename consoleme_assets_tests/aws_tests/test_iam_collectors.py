"""The GAAD collector's paging and shape checks. moto never pages GetAccountAuthorizationDetails, so
botocore's own Stubber plays IAM here (a unit test; the moto path is covered in iam_tests)."""

import boto3
import pytest
from botocore.stub import Stubber

from consoleme_assets.aws.iam import UnexpectedResponse, account_authorization_details

R1, R2 = "arn:aws:iam::111122223333:role/one", "arn:aws:iam::111122223333:role/two"
U1, P1 = "arn:aws:iam::111122223333:user/u", "arn:aws:iam::111122223333:policy/p"


class OneClient:
    def __init__(self, client):
        self._client = client

    def client(self, service, account_id=None, **kwargs):
        return self._client


def stubbed_iam():
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


def test_pages_are_merged_in_order():
    client, stub = stubbed_iam()
    stub.add_response(
        "get_account_authorization_details",
        {
            "RoleDetailList": [{"Arn": R1}],
            "UserDetailList": [{"Arn": U1}],
            "IsTruncated": True,
            "Marker": "m1",
            "ResponseMetadata": {"RequestId": "first-page", "HTTPStatusCode": 200},
        },
        {"MaxItems": 1000},
    )
    stub.add_response(
        "get_account_authorization_details",
        {"RoleDetailList": [{"Arn": R2}], "Policies": [{"Arn": P1}], "IsTruncated": False},
        {"MaxItems": 1000, "Marker": "m1"},
    )
    with stub:
        merged = account_authorization_details(OneClient(client), "111122223333")
    assert [r["Arn"] for r in merged["RoleDetailList"]] == [R1, R2]
    assert merged["UserDetailList"] == [{"Arn": U1}] and merged["Policies"] == [{"Arn": P1}]
    assert merged["GroupDetailList"] == []
    # ConsoleMe's merged answer is the first page with the others' lists added: its paging keys stay.
    assert (merged["IsTruncated"], merged["Marker"]) == (True, "m1")
    assert merged["ResponseMetadata"]["RequestId"] == "first-page"


def test_unknown_top_level_key_fails_loudly():
    client, stub = stubbed_iam()
    response = {"RoleDetailList": [], "IsTruncated": False}
    stub.add_response("get_account_authorization_details", response, {"MaxItems": 1000})
    # Stubber validates responses against the model, so inject the unknown key after parsing.
    client.meta.events.register(
        "after-call.iam.GetAccountAuthorizationDetails", lambda parsed, **kw: parsed.update(NewThing=[])
    )
    with stub, pytest.raises(UnexpectedResponse, match=r"account 111122223333: .*unknown keys \['NewThing'\]"):
        account_authorization_details(OneClient(client), "111122223333")
