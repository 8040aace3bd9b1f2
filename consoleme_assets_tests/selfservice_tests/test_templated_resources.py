"""`templated_resources` from a local git checkout built on disk (no network), and its exact format (§5.17)."""

import gzip
import json
import subprocess
from pathlib import Path

import boto3
import dagster as dg
import pytest
import yaml

from consoleme_assets.definitions import build_resources
from consoleme_assets.selfservice.templates import accounts_matching, templates_in_checkout
from consoleme_assets.settings.selfservice import TemplateRepository
from consoleme_assets_tests.catalog import templated_resources

KEY = "cache_templated_resources_v1"
S3_KEY = "cache_templated_resources/cache_templated_resources_v1.json.gz"
WEB = "https://git.example.com/org/honeybee-templates/browse/{relative_path}"
FILES = {
    "iamroles/app.yaml": "TemplateName: app-role\nOwner: team-x@example.com\n"
    "IncludeAccounts: ['demo-*', master]\nExcludeAccounts: [demo-sandbox]\nPolicies: []\n",
    "iamroles/noname.yaml": "Policies: []\nIncludeAccounts: ['*']\n",
    "iamroles/description-only.yaml": "Description: no Policies key, so the iam_role condition refuses it\n",
    "iamroles/broken.yaml": "Policies: [unclosed\n",
    "iamroles/a-list.yaml": "- not\n- a mapping\n",
    "s3/bucket.yaml": "Name: reports-bucket\nIncludeAccounts: [demo-prod]\n",
    "bucket-root.yaml": "Name: root-bucket\n",
    "README.md": "# templates\n",
}


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def make_checkout(root: Path) -> Path:
    checkout = root / "honeybee-templates"
    for name, text in FILES.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    git(checkout.parent, "init", "-q", str(checkout))
    git(checkout, "add", ".")
    git(checkout, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "templates")
    (checkout / "iamroles" / "untracked.yaml").write_text("Policies: []\n")  # not committed: not a template
    return checkout


REPOSITORY = {
    "name": "consoleme-templates",
    "type": "git",
    "repo_url": "https://git.example.com/org/honeybee-templates.git",
    "web_path": WEB,
    "resource_formats": ["honeybee"],
    "authentication_settings": {"email": "consoleme@example.com"},  # a ConsoleMe key, ignored
    "resource_type_parser": {
        "honeybee": {
            "iam_role": [
                {
                    "path_prefix": "honeybee-templates/iamroles/",
                    "path_suffix": ".yaml",
                    "file_content": {"includes": ["Policies"], "excludes": ["Skip"]},
                }
            ],
            "s3_bucket": [{"path_prefix": "honeybee-templates/s3/"}, {"path_suffix": "-root.yaml"}],
        }
    },
}
ACCOUNTS = {
    "accounts": [
        {"id": "111111111111", "name": "master", "status": "active"},
        {"id": "222222222222", "name": "demo-prod", "status": "active"},
        {"id": "333333333333", "name": "demo-staging", "status": "active"},
        {"id": "444444444444", "name": "demo-sandbox", "status": "active"},
        {"id": "555555555555", "name": "demo-retired", "status": "suspended"},
    ]
}


def config(tmp_path, sandbox_env, repository):
    path = tmp_path / "templates.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": [sandbox_env["CONSOLEME_ASSETS_CONFIG"]],
                "cache_resource_templates": {"repositories": [repository]},
            }
        )
    )
    return str(path)


def test_pattern_matching_of_account_names():
    names = ["demo-prod", "demo-staging", "demo-sandbox", "master"]
    assert accounts_matching(["demo-*"], ["demo-sandbox"], names) == {"demo-prod", "demo-staging"}
    assert accounts_matching([], [], names) == set()
    assert accounts_matching(["*"], ["*"], names) == set()


def test_templates_from_a_checkout_match_consoleme_format(tmp_path):
    checkout = make_checkout(tmp_path)
    repository = TemplateRepository.model_validate({**REPOSITORY, "local_path": str(checkout)})
    files = [str(p.relative_to(checkout)) for p in checkout.rglob("*") if p.is_file() and ".git" not in p.parts]
    found = templates_in_checkout(repository, checkout, files, ["master", "demo-prod", "demo-staging", "demo-sandbox"])
    by_resource = {t["resource"]: t for t in found.templates}
    assert list(by_resource["iamroles/app.yaml"]) == [
        "name",
        "owner",
        "include_accounts",
        "exclude_accounts",
        "number_of_accounts",
        "resource",
        "resource_type",
        "repository_name",
        "template_language",
        "web_path",
        "file_path",
        "content",
    ]
    assert by_resource["iamroles/app.yaml"] == {
        "name": "app-role",
        "owner": "team-x@example.com",
        "include_accounts": ["demo-*", "master"],
        "exclude_accounts": ["demo-sandbox"],
        "number_of_accounts": 3,
        "resource": "iamroles/app.yaml",
        "resource_type": "iam_role",
        "repository_name": "consoleme-templates",
        "template_language": "honeybee",
        "web_path": "https://git.example.com/org/honeybee-templates/browse/iamroles/app.yaml",
        "file_path": "honeybee-templates/iamroles/app.yaml",
        "content": None,
    }
    assert by_resource["iamroles/noname.yaml"]["name"] == "noname.yaml"  # file name when no TemplateName/Name
    assert by_resource["iamroles/noname.yaml"]["owner"] is None
    assert by_resource["iamroles/noname.yaml"]["number_of_accounts"] == 4
    assert by_resource["s3/bucket.yaml"]["resource_type"] == "s3_bucket"
    assert by_resource["/bucket-root.yaml"]["file_path"] == "honeybee-templates/bucket-root.yaml"  # ConsoleMe's "/x"
    assert sorted(by_resource) == [
        "/bucket-root.yaml",
        "iamroles/app.yaml",
        "iamroles/noname.yaml",
        "iamroles/untracked.yaml",
        "s3/bucket.yaml",
    ]
    assert sorted(u.split(":")[0] for u in found.unreadable) == [
        "honeybee-templates/iamroles/a-list.yaml",
        "honeybee-templates/iamroles/broken.yaml",
    ]


def test_asset_reads_tracked_files_and_writes_redis_and_s3(sandbox_env, demo_org, instance, tmp_path, redis_client):
    checkout = make_checkout(tmp_path)
    redis_client.set("ALL_AWS_ACCOUNTS", json.dumps(ACCOUNTS))
    resources = build_resources(config(tmp_path, sandbox_env, {**REPOSITORY, "local_path": str(checkout)}))
    result = dg.materialize([templated_resources], instance=instance, resources=resources)
    cached = json.loads(redis_client.get(KEY))
    resources_found = sorted(t["resource"] for t in cached["templated_resources"])
    assert resources_found == ["/bucket-root.yaml", "iamroles/app.yaml", "iamroles/noname.yaml", "s3/bucket.yaml"]
    app = next(t for t in cached["templated_resources"] if t["resource"] == "iamroles/app.yaml")
    assert app["number_of_accounts"] == 3  # master, demo-prod, demo-staging (demo-retired is not active)

    body = boto3.client("s3").get_object(Bucket=demo_org.cache_bucket, Key=S3_KEY)["Body"].read()
    envelope = json.loads(gzip.decompress(body))
    assert envelope["data"] == cached and isinstance(envelope["last_updated"], int)

    meta = result.asset_materializations_for_node("templated_resources")[0].metadata
    assert meta["dagster/row_count"].value == 4
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert meta["repositories"].value == {"consoleme-templates": head.strip()}
    assert len(meta["files_unreadable"].value) == 2


@pytest.mark.parametrize(
    "local_path, message",
    [
        (None, "no local_path; consoleme-assets reads a local checkout of https://git.example.com"),
        ("/nonexistent/templates", "local_path /nonexistent/templates is not a directory"),
        ("PLAIN_DIR", "is not a readable git checkout"),
    ],
)
def test_unreadable_repository_fails_and_keeps_the_cache(
    sandbox_env, demo_org, instance, tmp_path, redis_client, local_path, message
):
    redis_client.set(KEY, '{"templated_resources": [{"name": "kept"}]}')
    if local_path == "PLAIN_DIR":
        local_path = str(tmp_path / "plain")
        Path(local_path).mkdir()
    resources = build_resources(config(tmp_path, sandbox_env, {**REPOSITORY, "local_path": local_path}))
    result = dg.materialize([templated_resources], instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "cache_resource_templates.repositories[consoleme-templates]" in error and message in error
    assert redis_client.get(KEY) == '{"templated_resources": [{"name": "kept"}]}'


def test_no_repositories_caches_an_empty_list(sandbox_env, instance, resources, redis_client):
    assert dg.materialize([templated_resources], instance=instance, resources=resources).success
    assert json.loads(redis_client.get(KEY)) == {"templated_resources": []}
