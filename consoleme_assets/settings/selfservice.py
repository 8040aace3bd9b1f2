"""Settings of the CloudTrail denies queue, the resource templates and the self-service typeahead (ConsoleMe's
own key names; `local_path` on a template repository is ours)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .fields import Strict, ck

_DENIES = "event_bridge.detect_cloudtrail_denies_and_update_cache"


class CloudTrailDeniesSettings(Strict):
    """ConsoleMe's cache_cloudtrail_denies: an SQS queue fed by an EventBridge rule on CloudTrail errors."""

    enabled: bool = ck("celery.cache_cloudtrail_denies.enabled", default=False)
    # `{region}` is filled with `aws.region`.
    queue_arn: str | None = ck(f"{_DENIES}.queue_arn")
    assume_role: str | None = ck(f"{_DENIES}.assume_role")
    event_ttl: int = ck(
        f"{_DENIES}.event_ttl", "detect_cloudtrail_denies_and_update_cache.event_ttl", default=86400, ge=60
    )
    max_num_messages_to_process: int = ck(f"{_DENIES}.max_num_messages_to_process", default=100, ge=1, le=100000)
    event_bridge_substitutions: list[str] = ck(
        f"{_DENIES}.event_bridge_substitutions", default_factory=lambda: [".amazonaws.com"]
    )


class TemplateRepository(BaseModel):
    """One entry of `cache_resource_templates.repositories`. ConsoleMe cloned `repo_url`; consoleme-assets reads a
    checkout kept up to date outside it (`local_path`, ours). ConsoleMe keys it does not use are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    type: str = "git"
    repo_url: str | None = None
    local_path: str | None = None
    web_path: str = ""
    resource_formats: list[str] = Field(default_factory=list)
    resource_type_parser: dict[str, dict[str, list[dict[str, Any]]]] = Field(default_factory=dict)

    @property
    def checkout_name(self) -> str:
        """The folder ConsoleMe cloned into (last part of `repo_url` without `.git`); it prefixes `file_path`
        and the paths `path_prefix` / `path_suffix` are matched against."""
        source = (self.repo_url or self.local_path or self.name).rstrip("/")
        return source.split("/")[-1].removesuffix(".git")


class ResourceTemplateSettings(Strict):
    repositories: list[TemplateRepository] = ck("cache_resource_templates.repositories", default_factory=list)


class TypeaheadSettings(Strict):
    cache_resource_templates: bool = ck("cache_self_service_typeahead.cache_resource_templates", default=False)
    app_name_tag: str | None = ck("cache_self_service_typeahead.app_name_tag")
    app_url: str = ck("cache_self_service_typeahead.app_url", default="")

    @field_validator("app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        try:
            value.format(app_name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"must be a format string whose only placeholder is {{app_name}}: {exc}") from None
        return value
