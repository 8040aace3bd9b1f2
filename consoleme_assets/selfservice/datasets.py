"""`templated_resources` (ConsoleMe's cache_resource_templates_task, spec §5.17) and `self_service_typeahead`
(cache_self_service_typeahead_task, §5.18): one JSON document each, in Redis and S3, every 30 minutes as ConsoleMe
ran them; one job refreshes both, templates first (the typeahead lists them). No compatibility keys: ConsoleMe's
alerts did not watch these tasks."""

from typing import Any

import dagster as dg

from ..accounts.datasets import AWS_ACCOUNTS
from ..lib.datasets import EVERY_30_MINUTES, Built, Dataset
from ..lib.resources import ConsoleMeResource
from ..lib.shapes import INT, STR, Shape, listed_in
from ..stores.caches import JsonDocument
from .checkout import read_checkout
from .templates import templates_in_checkout
from .typeahead import account_names_of, iam_role_templates, typeahead_entries

GROUP = "self_service"
PREVIEW_ROWS = 20


def _preview(rows: list[dict[str, Any]], columns: list[str]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({c: str(r.get(c) if r.get(c) is not None else "") for c in columns})
            for r in rows[:PREVIEW_ROWS]
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns]),
    )


def build_templated_resources(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    settings = consoleme.settings
    account_names = list(account_names_of(consoleme.caches().read_json(AWS_ACCOUNTS.storage)).values())
    templates: list[dict[str, Any]] = []
    commits: dict[str, str] = {}
    unreadable: list[str] = []
    for repository in settings.resource_templates.repositories:
        checkout = read_checkout(repository)
        found = templates_in_checkout(repository, checkout.path, checkout.files, account_names)
        templates += found.templates
        unreadable += found.unreadable
        commits[repository.name] = checkout.commit
        for problem in found.unreadable:
            context.log.warning(f"template repository {repository.name}: skipped {problem}")
    return Built(
        {"templated_resources": templates},
        {
            "dagster/row_count": len(templates),
            "repositories": dg.MetadataValue.json(commits),
            "files_unreadable": dg.MetadataValue.json(unreadable),
            "preview": _preview(
                templates, ["repository_name", "resource", "resource_type", "name", "number_of_accounts"]
            ),
        },
    )


def build_typeahead(context: dg.AssetExecutionContext, consoleme: ConsoleMeResource) -> Built:
    settings = consoleme.settings
    caches = consoleme.caches()
    conf = settings.typeahead
    templates = (
        iam_role_templates(caches.read_json(TEMPLATED_RESOURCES.storage)) if conf.cache_resource_templates else []
    )
    problems: list[str] = []
    entries = typeahead_entries(
        templates,
        caches.iter_json_hash(settings.redis_keys.iam_roles),
        caches.iter_json_hash(settings.redis_keys.iam_users),
        account_names_of(caches.read_json(AWS_ACCOUNTS.storage)),
        conf.app_name_tag,
        problems,
    )
    for problem in problems:
        context.log.warning(f"self_service_typeahead: skipped {problem}")
    kinds = {"templates": len(templates)}
    kinds["roles"] = sum(1 for e in entries if e["details_endpoint"].startswith("/api/v2/roles/"))
    kinds["users"] = sum(1 for e in entries if e["details_endpoint"].startswith("/api/v2/users/"))
    if not kinds["roles"] and _cached_roles(caches.read_json(SELF_SERVICE_TYPEAHEAD.storage)):
        raise dg.Failure(
            f"{settings.redis_keys.iam_roles} has no readable roles but the cached typeahead lists "
            "some: keeping the cached typeahead (materialize iam_resources first)"
        )
    return Built(
        {"typeahead_entries": entries},
        {
            "dagster/row_count": len(entries),
            "entries_by_kind": dg.MetadataValue.json(kinds),
            "entries_skipped": dg.MetadataValue.json(problems[:50]),
            "preview": _preview(
                [
                    {**e, "principal": e["principal"].get("principal_arn") or e["principal"].get("resource_identifier")}
                    for e in entries
                ],
                ["display_text", "account", "application_name", "principal"],
            ),
        },
    )


def _cached_roles(cached: Any) -> bool:
    entries = (cached or {}).get("typeahead_entries") or [] if isinstance(cached, dict) else []
    return any(str(e.get("details_endpoint", "")).startswith("/api/v2/roles/") for e in entries if isinstance(e, dict))


TEMPLATED_RESOURCES = Dataset(
    name="templated_resources",
    description="Honeybee templates from each `cache_resource_templates.repositories[]` checkout (`local_path`), "
    "matched by its `resource_type_parser`, with the number of active accounts each applies to. Writes "
    "cache_templated_resources_v1 + S3. A repository that cannot be read fails the run (the cache keeps its last "
    "good value); a template file that is not YAML is skipped and named in the log and metadata.",
    group=GROUP,
    kinds={"git", "redis", "s3"},
    cadence=EVERY_30_MINUTES,
    build=build_templated_resources,
    deps=("aws_accounts",),
    job="self_service",
    storage=JsonDocument(lambda s: s.redis_keys.templated_resources, lambda s: s.s3.templated_resources),
    shape=Shape(
        listed_in(
            "templated_resources",
            {
                "name": STR,
                "resource": STR,
                "resource_type": STR,
                "repository_name": STR,
                "template_language": STR,
                "web_path": STR,
                "file_path": STR,
                "number_of_accounts": INT,
            },
        )
    ),
)
SELF_SERVICE_TYPEAHEAD = Dataset(
    name="self_service_typeahead",
    description="Self-service typeahead: honeybee iam_role templates (when `cache_self_service_typeahead."
    "cache_resource_templates`), then every role of IAM_ROLE_CACHE, then every user of IAM_USER_CACHE (read with "
    "HSCAN). Writes cache_self_service_typeahead_v1 + S3. Never replaces a typeahead listing roles with one "
    "listing none (IAM_ROLE_CACHE emptied or unreadable).",
    group=GROUP,
    kinds={"redis", "s3"},
    cadence=EVERY_30_MINUTES,
    build=build_typeahead,
    deps=("iam_resources", "templated_resources", "aws_accounts"),
    job="self_service",
    storage=JsonDocument(lambda s: s.redis_keys.self_service_typeahead, lambda s: s.s3.self_service_typeahead),
    shape=Shape(
        listed_in(
            "typeahead_entries",
            {
                "icon": STR,
                "number_of_affected_resources": INT,
                "display_text": STR,
                "details_endpoint": STR,
                "principal": (dict,),
            },
        )
    ),
)
