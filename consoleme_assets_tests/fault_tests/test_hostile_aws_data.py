"""Malformed or hostile AWS data, through the fault proxy in front of moto and a real redis-server: each item is
cached exactly, or rejected alone with an error naming account, ARN and field while its last good cache entry
stays; the refresh never crashes. Moto validates policies at creation, so what IAM would not store (invalid
JSON, 6,000-statement documents, thousands of roles in pages) is written into its GetAccountAuthorizationDetails
(GAAD) answers by the proxy's rewrite hooks."""

import json
import resource
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import boto3
import dagster as dg
from boto3.dynamodb.conditions import Attr

from consoleme_assets.iam.limits import iam_role_limits_within_quota
from consoleme_assets.iam.records import detail_problems
from consoleme_assets.sandbox.seed import MANAGED_POLICIES, ROLES
from consoleme_assets.stores.encoding import open_envelope
from consoleme_assets_tests.catalog import iam_role_limits
from consoleme_assets_tests.inventory_tests.support import member_client

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
ET.register_namespace("", NS)  # rewritten answers keep IAM's default namespace
GAAD = "GetAccountAuthorizationDetails"
GAAD_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
ROLE_TABLE = "consoleme_iamroles_global"


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def edit_gaad(edit):
    """A proxy rewrite: parse moto's GAAD answer, let `edit(result element)` change it, serialize it again."""

    def rewrite(payload: bytes) -> bytes:
        root = ET.fromstring(payload)
        edit(root.find(q("GetAccountAuthorizationDetailsResult")))
        return ET.tostring(root, encoding="utf-8")

    return rewrite


def member_with_arn(result, list_name: str, arn: str):
    return next(m for m in result.find(q(list_name)) if m.findtext(q("Arn")) == arn)


def policy_document(detail, list_name: str, name: str, doc_tag: str = "PolicyDocument"):
    """The document element of an inline policy (by name) or of a managed policy's version (by VersionId)."""
    key = "VersionId" if list_name == "PolicyVersionList" else "PolicyName"
    return next(m for m in detail.find(q(list_name)) if m.findtext(q(key)) == name).find(q(doc_tag))


def statements(n: int, prefix: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{prefix}{i:05d}",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{prefix.lower()}-bucket-{i:05d}/*",
            }
            for i in range(n)
        ],
    }


def dynamo_roles(account_id: str) -> dict[str, dict]:
    table = boto3.resource("dynamodb").Table(ROLE_TABLE)
    items, kwargs = [], {"FilterExpression": Attr("accountId").eq(account_id)}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return {i["arn"]: i for i in items}
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def account_fields(redis_client, key: str, account_id: str) -> dict[str, str]:
    return {f: v for f, v in redis_client.hscan_iter(key, count=1000) if f":{account_id}:" in f}


def metadata_of(instance, asset: str, partition: str) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return {k: getattr(v, "value", v) for k, v in records[0].asset_materialization.metadata.items()}


def run_log(instance) -> str:
    run_id = instance.get_runs(limit=1)[0].run_id
    return "\n".join(r.event_log_entry.user_message or "" for r in instance.get_records_for_run(run_id).records)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# -- 1. URL-encoded documents ---------------------------------------------------------------------------------


def test_url_encoded_policy_documents_are_decoded_once(fault_env, proxy, refresh, redis_client, demo_org):
    member = demo_org.member_account_ids[0]
    raw: list[bytes] = []
    proxy.rewrites[(GAAD, member)] = lambda payload: raw.append(payload) or payload
    tricky = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a+b%2Bc d/é/*"}],
    }
    member_client(demo_org, member, "iam").put_role_policy(
        RoleName="demo-app", PolicyName="tricky", PolicyDocument=json.dumps(tricky)
    )
    assert refresh(["aws_accounts", "iam_resources"]) == [], refresh.lines

    assert raw and b"%22Statement%22" in raw[0]  # IAM's answer really carries URL-encoded JSON
    arn = f"arn:aws:iam::{member}:role/demo-app"
    detail = json.loads(json.loads(redis_client.hget("IAM_ROLE_CACHE", arn))["policy"])
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in detail["RolePolicyList"]}
    assert inline == {"app-logs": ROLES[1].inline["app-logs"], "tricky": tricky}  # objects, decoded exactly once
    policy = json.loads(redis_client.hget("IAM_POLICY_CACHE", f"arn:aws:iam::{member}:policy/demo-app-policy"))
    versions = json.loads(policy["policy"])["PolicyVersionList"]
    assert [v["Document"] for v in versions if v["IsDefaultVersion"]] == [MANAGED_POLICIES["demo-app-policy"]]


# -- 2. Invalid JSON, non-object documents, another account's ARN ---------------------------------------------


def test_invalid_documents_reject_only_their_item_and_keep_its_last_good_entry(
    fault_env, proxy, refresh, redis_client, demo_org, instance
):
    member, other = demo_org.member_account_ids[0], demo_org.member_account_ids[1]
    app, admin = f"arn:aws:iam::{member}:role/demo-app", f"arn:aws:iam::{member}:role/demo-admin"
    newcomer, fresh = f"arn:aws:iam::{member}:role/newcomer", f"arn:aws:iam::{member}:role/fresh"
    policy_arn = f"arn:aws:iam::{member}:policy/demo-app-policy"
    assert refresh(["aws_accounts", "iam_resources"]) == [], refresh.lines
    before = {arn: redis_client.hget("IAM_ROLE_CACHE", arn) for arn in (app, admin)}
    before[policy_arn] = redis_client.hget("IAM_POLICY_CACHE", policy_arn)
    dynamo_before = dynamo_roles(member)

    iam = member_client(demo_org, member, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for name in ("newcomer", "fresh"):  # new since the last refresh: one will arrive corrupted, one clean
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="newcomer", PolicyName="p", PolicyDocument=json.dumps(statements(1, "N")))
    member_client(demo_org, other, "iam").create_role(RoleName="elsewhere", AssumeRolePolicyDocument=trust)

    def corrupt(result):
        truncated = quote('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",')
        policy_document(member_with_arn(result, "RoleDetailList", app), "RolePolicyList", "app-logs").text = truncated
        member_with_arn(result, "RoleDetailList", admin).find(q("AssumeRolePolicyDocument")).text = quote("[1, 2]")
        policy_document(member_with_arn(result, "RoleDetailList", newcomer), "RolePolicyList", "p").text = "%7Bnope"
        managed = member_with_arn(result, "Policies", policy_arn)
        policy_document(managed, "PolicyVersionList", "v1", "Document").text = quote("{'single': 'quotes'}")
        # A role under another account's ARN: fields are keyed by ARN, so caching it would overwrite that entry.
        intruder = ET.fromstring(ET.tostring(member_with_arn(result, "RoleDetailList", fresh)))
        intruder.find(q("Arn")).text = f"arn:aws:iam::{other}:role/elsewhere"
        result.find(q("RoleDetailList")).append(intruder)

    proxy.rewrites[(GAAD, member)] = edit_gaad(corrupt)
    assert refresh(["iam_resources"]) == [], refresh.lines  # an item is not an account failure

    for arn, key in ((app, "IAM_ROLE_CACHE"), (admin, "IAM_ROLE_CACHE"), (policy_arn, "IAM_POLICY_CACHE")):
        assert redis_client.hget(key, arn) == before[arn], arn  # the last good entry, byte for byte
    after_dynamo = dynamo_roles(member)
    assert {a: after_dynamo[a] for a in (app, admin)} == {a: dynamo_before[a] for a in (app, admin)}
    assert not redis_client.hexists("IAM_ROLE_CACHE", newcomer) and newcomer not in after_dynamo
    assert redis_client.hexists("IAM_ROLE_CACHE", fresh) and fresh in after_dynamo  # the rest of the account lands
    elsewhere = json.loads(redis_client.hget("IAM_ROLE_CACHE", f"arn:aws:iam::{other}:role/elsewhere"))
    assert elsewhere["accountId"] == other  # written by its own account only; other accounts land
    for account in demo_org.accounts:
        assert ("rejected_items" in metadata_of(instance, "iam_resources", account)) == (account == member)

    rejected = {r["arn"]: r for r in metadata_of(instance, "iam_resources", member)["rejected_items"]}
    assert set(rejected) == {app, admin, newcomer, policy_arn, f"arn:aws:iam::{other}:role/elsewhere"}
    assert rejected[app]["kept_last_good"] and not rejected[newcomer]["kept_last_good"]
    assert rejected[app]["problems"][0].startswith("RolePolicyList[app-logs].PolicyDocument: not valid JSON")
    assert rejected[admin]["problems"] == ["AssumeRolePolicyDocument: a JSON list, not an object"]
    assert rejected[policy_arn]["problems"][0].startswith("PolicyVersionList[v1].Document: not valid JSON")
    assert rejected[f"arn:aws:iam::{other}:role/elsewhere"]["problems"] == [
        f"Arn: belongs to account '{other}', not {member}"
    ]
    log = run_log(instance)
    assert (
        f"account {member}: role {app} rejected: RolePolicyList[app-logs].PolicyDocument: not valid JSON" in log
        and "its last good cache entry is kept" in log
    )
    assert f"account {member}: role {newcomer} rejected: " in log and "not cached (no earlier entry)" in log

    # Still rejected on the next refresh: still kept (the entry stays owned by the account, not orphaned).
    assert refresh(["iam_resources"]) == [] and redis_client.hget("IAM_ROLE_CACHE", app) == before[app]
    # Once AWS answers well again the entries are refreshed.
    proxy.rewrites.clear()
    assert refresh(["iam_resources"]) == [], refresh.lines
    detail = json.loads(json.loads(redis_client.hget("IAM_ROLE_CACHE", app))["policy"])
    assert detail["RolePolicyList"][0]["PolicyDocument"] == ROLES[1].inline["app-logs"]
    assert redis_client.hexists("IAM_ROLE_CACHE", newcomer)
    assert "rejected_items" not in metadata_of(instance, "iam_resources", member)


def test_refresh_iam_role_rejects_an_invalid_document_and_keeps_the_entry(
    fault_env, proxy, refresh, redis_client, demo_org, instance
):
    from consoleme_assets.definitions import defs

    member = demo_org.member_account_ids[0]
    arn = f"arn:aws:iam::{member}:role/demo-app"
    assert refresh(["aws_accounts", "iam_resources"]) == []
    before = redis_client.hget("IAM_ROLE_CACHE", arn)
    proxy.rewrites[("GetRolePolicy", member)] = lambda payload: payload.replace(b"%7B", b"%7B%7B", 1)
    result = defs.resolve_job_def("refresh_iam_role_job").execute_in_process(
        run_config={"ops": {"refresh_iam_role": {"config": {"role_arn": arn}}}}, instance=instance, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert failure.description.startswith(
        f"account {member}: role {arn} rejected: RolePolicyList[app-logs].PolicyDocument: not valid JSON"
    )
    assert redis_client.hget("IAM_ROLE_CACHE", arn) == before


def test_detail_problems_name_each_field():
    role = {
        "Arn": "arn:aws:iam::111122223333:role/r",
        "AssumeRolePolicyDocument": {"Statement": []},
        "RolePolicyList": [{"PolicyName": "ok", "PolicyDocument": {}}],
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    assert detail_problems("roles", role, "111122223333") == []
    assert detail_problems("policies", {"Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "111122223333") == []
    bad = {**role, "Tags": [{"Key": "k"}], "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": "%22s%22"}]}
    assert detail_problems("roles", bad, "111122223333") == [
        "RolePolicyList[p].PolicyDocument: a JSON str, not an object",
        "Tags: not a list of {Key, Value} strings",
    ]
    assert detail_problems("users", {"UserName": "u"}, "111122223333") == ["Arn: missing or not an ARN ('None')"]
    assert detail_problems("groups", "junk", "111122223333") == ["(item): not an object but str"]


# -- 3. 6,000-statement documents -----------------------------------------------------------------------------


def test_six_thousand_statement_documents_are_cached_exactly(
    fault_env, proxy, refresh, redis_client, demo_org, instance, moto
):
    member = demo_org.member_account_ids[0]
    worker = f"arn:aws:iam::{member}:role/service/demo-worker"
    policy_arn = f"arn:aws:iam::{member}:policy/demo-queue-consumer"
    inline, managed = statements(6000, "I"), statements(6000, "M")  # ~0.7 MB each; IAM caps at 10 KB

    def enlarge(result):
        role = member_with_arn(result, "RoleDetailList", worker)
        policy_document(role, "RolePolicyList", "worker-sqs").text = quote(json.dumps(inline))
        versions = member_with_arn(result, "Policies", policy_arn)
        policy_document(versions, "PolicyVersionList", "v1", "Document").text = quote(json.dumps(managed))

    assert refresh(["aws_accounts"]) == []
    proxy.rewrites[(GAAD, member)] = edit_gaad(enlarge)
    t0, rss0 = time.monotonic(), peak_rss_mb()
    assert refresh(["iam_resources"], {member}) == [], refresh.lines
    meta = metadata_of(instance, "iam_resources", member)
    print(
        f"\n6,000-statement documents: iam_resources for the account in {time.monotonic() - t0:.1f}s (fetch "
        f"{meta['fetch_seconds']}s, write {meta['write_seconds']}s), peak RSS {rss0:.0f} -> {peak_rss_mb():.0f} MB"
    )

    detail = json.loads(json.loads(redis_client.hget("IAM_ROLE_CACHE", worker))["policy"])
    assert {p["PolicyName"]: p["PolicyDocument"] for p in detail["RolePolicyList"]}["worker-sqs"] == inline
    versions = json.loads(json.loads(redis_client.hget("IAM_POLICY_CACHE", policy_arn))["policy"])["PolicyVersionList"]
    assert [v["Document"] for v in versions] == [managed]
    # Over DynamoDB's 400 KB item limit: Redis (what the web reads first) has it, the item stays as it was.
    assert f"over DynamoDB's 400 KB item limit kept in Redis only: {worker}" in meta["notes"]
    assert "rejected_items" not in meta
    s3 = boto3.client("s3", endpoint_url=moto.url)
    key = f"get_account_authorization_details/get_account_authorization_details_{member}_v1.json.gz"
    gaad = open_envelope(s3.get_object(Bucket=demo_org.cache_bucket, Key=key)["Body"].read(), gz=True)["data"]
    role = next(r for r in gaad["RoleDetailList"] if r["Arn"] == worker)
    assert [p["PolicyDocument"] for p in role["RolePolicyList"]] == [inline]


# -- 4. Empty accounts ----------------------------------------------------------------------------------------


def _empty_gaad(result):
    for name in GAAD_LISTS:
        for member in list(result.find(q(name))):
            result.find(q(name)).remove(member)


def _empty_list_policies(payload: bytes) -> bytes:
    root = ET.fromstring(payload)
    policies = root.find(q("ListPoliciesResult")).find(q("Policies"))
    for member in list(policies):
        policies.remove(member)
    return ET.tostring(root, encoding="utf-8")


def test_an_empty_account_lands_with_empty_but_valid_entries(
    fault_env, proxy, refresh, redis_client, demo_org, instance, moto
):
    from consoleme_assets.definitions import defs

    orgs = boto3.client("organizations", endpoint_url=moto.url)
    empty = orgs.create_account(AccountName="demo-empty", Email="aws-demo-empty@example.com")["CreateAccountStatus"][
        "AccountId"
    ]
    creds = boto3.client("sts", endpoint_url=moto.url).assume_role(
        RoleArn=f"arn:aws:iam::{empty}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    boto3.client(
        "iam",
        endpoint_url=moto.url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).create_role(
        RoleName="ConsoleMe",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    assert refresh(["aws_accounts", "iam_resources", "managed_policies"]) == [], refresh.lines
    assert account_fields(redis_client, "IAM_ROLE_CACHE", empty) and json.loads(
        redis_client.hget("IAM_MANAGED_POLICIES", empty)
    )
    # Moto's account holds the two roles it needs and AWS-managed policies; the account empties (AWS could
    # also answer with nothing at all from the start).
    proxy.rewrites[(GAAD, empty)] = edit_gaad(_empty_gaad)
    proxy.rewrites[("ListPolicies", empty)] = _empty_list_policies

    names = sorted(k.to_user_string() for a in defs.assets for k in a.keys if a.is_executable)
    assert refresh(names) == [], refresh.lines  # every asset, the empty account among the others
    assert empty in json.dumps(json.loads(redis_client.get("ALL_AWS_ACCOUNTS"))["accounts"])
    # The per-account list hashes hold "[]" for it (ConsoleMe's HSET of an empty list; readers json.loads it).
    for key in ("S3_BUCKETS", "SQS_QUEUES", "SNS_TOPICS", "IAM_MANAGED_POLICIES"):
        assert redis_client.hget(key, empty) == "[]", key
        assert json.loads(redis_client.hget(key, demo_org.member_account_ids[0])), key  # the others are not empty
    for key in ("IAM_ROLE_CACHE", "IAM_USER_CACHE", "IAM_GROUP_CACHE", "IAM_POLICY_CACHE"):
        assert account_fields(redis_client, key, empty) == {}, key  # ARN-keyed hashes: simply no fields
    # AWS Config (answered by the sandbox from what moto holds) still records the account's two roles.
    assert sorted(account_fields(redis_client, "AWSCONFIG_RESOURCE_CACHE", empty)) == [
        f"arn:aws:iam::{empty}:role/ConsoleMe",
        f"arn:aws:iam::{empty}:role/OrganizationAccountAccessRole",
    ]
    assert dynamo_roles(empty) == {}
    assert not [row for row in json.loads(redis_client.get("ALL_POLICIES")) if row["account_id"] == empty]
    s3 = boto3.client("s3", endpoint_url=moto.url)
    for key in (
        f"account_resource_cache/cache_s3_buckets_{empty}_v1.json.gz",
        f"account_resource_cache/cache_iam_roles_{empty}_v1.json.gz",
    ):
        assert open_envelope(s3.get_object(Bucket=demo_org.cache_bucket, Key=key)["Body"].read(), gz=True)["data"] == []
    assert metadata_of(instance, "iam_resources", empty)["counts"] == {
        "roles": 0,
        "users": 0,
        "groups": 0,
        "policies": 0,
        "aws_managed_policies": 0,
    }

    checks = defs.resolve_job_def("observability_checks_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    evaluations = {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in checks.get_asset_check_evaluations()}
    assert checks.success and "s3_buckets:covers_all_accounts" in evaluations
    assert {k: e.description for k, e in evaluations.items() if not e.passed} == {}
    quota = dg.materialize([iam_role_limits, iam_role_limits_within_quota], instance=instance, resources=defs.resources)
    assert quota.success and all(e.passed for e in quota.get_asset_check_evaluations())


# -- 5. Thousands of roles ------------------------------------------------------------------------------------


def synthetic_roles(account_id: str, n: int) -> dict[str, str]:
    """arn -> RoleDetail XML, each with an inline policy and an owner tag."""
    doc = quote(json.dumps(statements(2, "R")))
    trust = quote(json.dumps({"Version": "2012-10-17", "Statement": []}))
    return {
        f"arn:aws:iam::{account_id}:role/bulk/bulk-{i:05d}": (
            f"<member><Path>/bulk/</Path><RoleName>bulk-{i:05d}</RoleName><RoleId>AROA{i:017d}</RoleId>"
            f"<Arn>arn:aws:iam::{account_id}:role/bulk/bulk-{i:05d}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>"
            f"<AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument><InstanceProfileList/>"
            f"<RolePolicyList><member><PolicyName>inline</PolicyName><PolicyDocument>{doc}</PolicyDocument></member>"
            f"</RolePolicyList><AttachedManagedPolicies/><Tags><member><Key>owner</Key><Value>team-{i % 7}@example.com"
            f"</Value></member></Tags><RoleLastUsed/></member>"
        )
        for i in range(n)
    }


def paged_gaad(extra: dict[str, str]):
    """A call rewrite: moto's whole GAAD answer plus the `extra` roles, served in pages of the request's MaxItems
    behind Marker/IsTruncated as IAM does (moto never pages GAAD)."""
    extra_xml = f'<RoleDetailList xmlns="{NS}">{"".join(extra.values())}</RoleDetailList>'

    def rewrite(call, payload: bytes) -> bytes:
        root = ET.fromstring(payload)
        result = root.find(q("GetAccountAuthorizationDetailsResult"))
        result.find(q("RoleDetailList")).extend(ET.fromstring(extra_xml))
        items = [m for name in GAAD_LISTS for m in result.find(q(name))]
        start, size = int(call.params.get("Marker", 0)), int(call.params.get("MaxItems", 100))
        page = {id(m) for m in items[start : start + size]}
        for name in GAAD_LISTS:
            listing = result.find(q(name))
            for m in [m for m in listing if id(m) not in page]:
                listing.remove(m)
        more = start + size < len(items)
        result.find(q("IsTruncated")).text = "true" if more else "false"
        if more:
            ET.SubElement(result, q("Marker")).text = str(start + size)
        return ET.tostring(root, encoding="utf-8")

    return rewrite


def test_three_thousand_roles_in_pages_are_all_cached(fault_env, proxy, refresh, redis_client, demo_org, instance):
    member = demo_org.member_account_ids[0]
    bulk = synthetic_roles(member, 3000)
    real = set(demo_org.roles[member])
    assert refresh(["aws_accounts"]) == []
    proxy.call_rewrites[(GAAD, member)] = paged_gaad(bulk)
    t0, rss0 = time.monotonic(), peak_rss_mb()
    assert refresh(["iam_resources"], {member}) == [], refresh.lines
    meta = metadata_of(instance, "iam_resources", member)
    print(
        f"\n3,000 roles: iam_resources for the account in {time.monotonic() - t0:.1f}s (fetch "
        f"{meta['fetch_seconds']}s, write {meta['write_seconds']}s), peak RSS {rss0:.0f} -> {peak_rss_mb():.0f} MB"
    )

    pages = [c for c in proxy.calls if c.action == GAAD and c.account == member]
    assert len(pages) >= 4 and pages[-1].params.get("Marker") == str(1000 * (len(pages) - 1))  # every page read
    assert set(account_fields(redis_client, "IAM_ROLE_CACHE", member)) == real | set(bulk)
    assert set(dynamo_roles(member)) == real | set(bulk)
    entry = json.loads(redis_client.hget("IAM_ROLE_CACHE", f"arn:aws:iam::{member}:role/bulk/bulk-02999"))
    assert entry["owner"] == "team-3@example.com" and entry["resourceId"] == "AROA00000000000002999"
    assert json.loads(entry["policy"])["RolePolicyList"][0]["PolicyDocument"] == statements(2, "R")
    assert meta["counts"]["roles"] == len(real) + 3000

    # 500 of them deleted in AWS: exactly those leave Redis and DynamoDB.
    proxy.call_rewrites[(GAAD, member)] = paged_gaad(dict(list(bulk.items())[:2500]))
    assert refresh(["iam_resources"], {member}) == [], refresh.lines
    remaining = real | set(list(bulk)[:2500])
    assert set(account_fields(redis_client, "IAM_ROLE_CACHE", member)) == remaining
    assert set(dynamo_roles(member)) == remaining
    assert metadata_of(instance, "iam_resources", member)["removed_entries"]["IAM_ROLE_CACHE"] == 500
