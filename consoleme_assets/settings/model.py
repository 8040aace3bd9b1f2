"""The typed settings model. Every field names the ConsoleMe config key(s) it is read from.

Defaults are ConsoleMe's defaults, so an empty file gives ConsoleMe's key names and S3 layout.
Where ConsoleMe's writers and readers use different config keys for the same thing, a field lists
both (first present wins) so the value lands where ConsoleMe's web tier reads it.
"""

from typing import Any, Literal

from pydantic import field_validator

from .changes import HistorySettings, PublishGuard, WriteSettings
from .cloudtrail_notifications import CloudTrailNotificationSettings
from .fields import Strict, account_keyed, ck, normalize_account_id
from .keys import DynamoTables, RedisKeys, S3Object, S3Objects
from .observability import ObservabilitySettings
from .selfservice import CloudTrailDeniesSettings, ResourceTemplateSettings, TypeaheadSettings


class RedisSettings(Strict):
    host: dict[str, str] = ck("redis.host", default_factory=dict)  # region or "global" -> host
    port: int = ck("redis.port", default=6379)
    db: int = ck("redis.db", default=0)

    @field_validator("host", mode="before")
    @classmethod
    def _host_string_is_global(cls, value: Any) -> Any:
        return {"global": value} if isinstance(value, str) else value


class OrganizationSource(Strict):
    organizations_master_account_id: str
    organizations_master_role_to_assume: str | None = None

    @field_validator("organizations_master_account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> str:
        return normalize_account_id(value, "organizations_master_account_id")


class RoleFilter(Strict):
    allowed_tags: dict[str, str] = ck("roles.allowed_tags", default_factory=dict)
    allowed_arns: list[str] = ck("roles.allowed_arns", default_factory=list)
    allowed_tag_keys: list[str] = ck("roles.allowed_tag_keys", default_factory=list)


class AwsConfigSettings(Strict):
    """AWS Config resource cache (ConsoleMe's cache_resources_from_aws_config_*)."""

    # When set, the global switch overrides the per-account ones (ConsoleMe's precedence).
    enabled: bool | None = ck("celery.cache_resources_from_aws_config_across_accounts.enabled")
    enabled_by_account: dict[str, Any] = ck("celery.cache_resources_from_aws_config_for_account", default_factory=dict)
    dynamo_enabled: bool = ck("celery.cache_resources_from_aws_config_across_accounts.dynamo_enabled", default=True)
    query: str = ck(
        "cache_all_resources_from_aws_config.aws_config.all_resources_query",
        default="select * where accountId = '{account_id}'",
    )
    available_regions: list[str] = ck("aws_config.available_regions", default_factory=list)
    exclude_regions: list[str] = ck(
        "api_protect.exclude_regions",
        default_factory=lambda: ["af-south-1", "ap-east-1", "ap-northeast-3", "eu-south-1", "me-south-1"],
    )

    @field_validator("enabled_by_account", mode="before")
    @classmethod
    def _account_keys(cls, value: Any) -> Any:
        return account_keyed(value)

    def enabled_for(self, account_id: str) -> bool:
        if self.enabled is not None:
            return self.enabled
        entry = self.enabled_by_account.get(account_id)
        return bool(entry.get("enabled", True)) if isinstance(entry, dict) else True


class PoliciesTableSettings(Strict):
    skip_iam_roles: bool = ck("cache_policies_table_details.skip_iam_roles", default=False)
    skip_iam_users: bool = ck("cache_policies_table_details.skip_iam_users", default=False)
    skip_s3_buckets: bool = ck("cache_policies_table_details.skip_s3_buckets", default=False)
    skip_sns_topics: bool = ck("cache_policies_table_details.skip_sns_topics", default=False)
    skip_sqs_queues: bool = ck("cache_policies_table_details.skip_sqs_queues", default=False)
    skip_managed_policies: bool = ck("cache_policies_table_details.skip_managed_policies", default=False)
    skip_aws_config_resources: bool = ck("cache_policies_table_details.skip_aws_config_resources", default=False)
    generate_conglomo_url: bool = ck("get_aws_config_history_url_for_resource.generate_conglomo_url", default=False)
    conglomo_url: str | None = ck("get_aws_config_history_url_for_resource.conglomo_url")


class CredentialMappingSettings(Strict):
    """Who may use which role (ConsoleMe's cloud_credential_authorization_mapping.*)."""

    role_tags_enabled: bool = ck("cloud_credential_authorization_mapping.role_tags.enabled", default=True)
    authorized_groups_tags: list[str] = ck(
        "cloud_credential_authorization_mapping.role_tags.authorized_groups_tags", default_factory=list
    )
    authorized_groups_cli_only_tags: list[str] = ck(
        "cloud_credential_authorization_mapping.role_tags.authorized_groups_cli_only_tags", default_factory=list
    )
    required_trust_policy_entity: str | None = ck(
        "cloud_credential_authorization_mapping.role_tags.required_trust_policy_entity"
    )
    static_enabled: bool = ck("cloud_credential_authorization_mapping.dynamic_config.enabled", default=True)
    # ConsoleMe kept this map in its dynamic config; here it is read from the settings file.
    group_mapping: dict[str, dict[str, list[str]]] = ck(
        "group_mapping", "dynamic_config.group_mapping", default_factory=dict
    )
    plugin_enabled: bool = ck("cloud_credential_authorization_mapping.internal_plugin.enabled", default=False)
    force_groups_lowercase: bool = ck("auth.force_groups_lowercase", default=False)


class RoleLimitSettings(Strict):
    warn_ratio: float = ck("consoleme_assets.iam_role_limits.warn_ratio", default=0.8, gt=0, le=1)
    fail_ratio: float = ck("consoleme_assets.iam_role_limits.fail_ratio", default=0.95, gt=0, le=1)


class Plugins(Strict):
    """Entry-point names (group `consoleme_assets.plugins`) for internal data sources; "default" = built in."""

    cloudtrail_errors: str = ck("consoleme_assets.plugins.cloudtrail_errors", default="default")
    group_mapping: str | None = ck("consoleme_assets.plugins.group_mapping")


class RoleChangeSettings(Strict):
    """Role changes from an EventBridge-fed SQS queue (ConsoleMe's trigger_credential_mapping_refresh_from_role_changes)."""

    enabled: bool = ck("celery.trigger_credential_mapping_refresh_from_role_changes.enabled", default=False)
    # `{region}` is replaced by `aws.region`, so one file serves every region's deployment.
    queue_arn: str | None = ck("event_bridge.detect_role_changes_and_update_cache.queue_arn")
    assume_role: str | None = ck("event_bridge.detect_role_changes_and_update_cache.assume_role")


class Tuning(Strict):
    """Our own knobs, under `consoleme_assets:` (ConsoleMe ignores the section)."""

    max_concurrent_accounts: int = ck("consoleme_assets.max_concurrent_accounts", default=8, ge=1, le=256)
    # None: a per-account refresh is one run over every account. N: runs of at most N accounts each, which the
    # run launcher starts independently (lib/ranges.py); read when the definitions load.
    max_accounts_per_run: int | None = ck("consoleme_assets.max_accounts_per_run", default=None, ge=1)
    aws_max_attempts: int = ck("consoleme_assets.aws_max_attempts", default=10, ge=1, le=50)
    # botocore's retry mode for every AWS client. standard: adaptive's client-side rate limiter slowed throttled
    # refreshes more than it saved (benchmarks/report.md, "Throttling: retry modes").
    aws_retry_mode: Literal["standard", "adaptive"] = ck("consoleme_assets.aws_retry_mode", default="standard")
    spoke_role_external_id: str | None = ck("consoleme_assets.spoke_role_external_id")
    role_session_name: str = ck("consoleme_assets.role_session_name", default="consoleme-assets")


class Settings(Strict):
    """Everything consoleme-assets reads from config, typed and validated."""

    environment: str | None = ck("environment")
    # ConsoleMe takes its region from the environment; `aws.region` in the file wins here.
    region: str = ck("aws.region", default="us-east-1")
    active_region: str | None = ck("celery.active_region")
    sync_regions: list[str] = ck("celery.sync_regions", default_factory=list)
    enabled_regions_by_account: dict[str, list[str]] = ck("get_enabled_regions_for_account", default_factory=dict)

    spoke_role_name: str | None = ck("policies.role_name")
    endpoint_url: str | None = ck("boto3.client_kwargs.endpoint_url")
    sts_endpoint_url: str | None = ck("aws.sts_endpoint_url")
    dynamodb_server: str | None = ck("dynamodb_server")
    owner_tags: list[str] = ck("aws.tags.owner", default_factory=list)

    accounts_from_organizations: bool = ck("cache_cloud_accounts.from_aws_organizations", default=False)
    accounts_from_config: bool = ck("cache_cloud_accounts.from_config", default=True)
    organizations: list[OrganizationSource] = ck("cache_accounts_from_aws_organizations", default_factory=list)
    account_ids_to_name: dict[str, str] = ck("account_ids_to_name", default_factory=dict)

    consoleme_s3_bucket: str | None = ck("consoleme_s3_bucket")
    redis_url: str | None = None  # REDIS_URL; overrides `redis:` when set

    redis: RedisSettings = RedisSettings()
    redis_keys: RedisKeys = RedisKeys()
    s3: S3Objects = S3Objects()
    tables: DynamoTables = DynamoTables()
    role_filter: RoleFilter = RoleFilter()
    aws_config: AwsConfigSettings = AwsConfigSettings()
    policies_table: PoliciesTableSettings = PoliciesTableSettings()
    credential_mapping: CredentialMappingSettings = CredentialMappingSettings()
    role_limits: RoleLimitSettings = RoleLimitSettings()
    plugins: Plugins = Plugins()
    role_changes: RoleChangeSettings = RoleChangeSettings()
    tuning: Tuning = Tuning()
    observability: ObservabilitySettings = ObservabilitySettings()
    cloudtrail_denies: CloudTrailDeniesSettings = CloudTrailDeniesSettings()
    resource_templates: ResourceTemplateSettings = ResourceTemplateSettings()
    typeahead: TypeaheadSettings = TypeaheadSettings()
    cloudtrail_notifications: CloudTrailNotificationSettings = CloudTrailNotificationSettings()
    publish_guard: PublishGuard = PublishGuard()
    history: HistorySettings = HistorySettings()
    writes: WriteSettings = WriteSettings()

    @field_validator("owner_tags", mode="before")
    @classmethod
    def _owner_tags(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("account_ids_to_name", mode="before")
    @classmethod
    def _account_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for account_id, name in value.items():
            if isinstance(name, list):  # ConsoleMe's legacy form: the first element is the name
                name = name[0] if name else None
            if not isinstance(name, str):
                raise ValueError(f"name of account {account_id!r} must be a string, got {name!r}")
            out[normalize_account_id(account_id, f"account id {account_id!r}")] = name
        return out

    @field_validator("enabled_regions_by_account", mode="before")
    @classmethod
    def _enabled_regions(cls, value: Any) -> Any:
        return account_keyed(value)

    # ---- derived values -------------------------------------------------------------------------

    @property
    def is_active_region(self) -> bool:
        """ConsoleMe's ACTIVE: no active_region configured, or it is this region."""
        return self.active_region is None or self.active_region == self.region

    @property
    def is_replica(self) -> bool:
        """A non-primary region: per-account datasets are hydrated from DynamoDB / S3, not read from AWS."""
        return not self.is_active_region

    @property
    def effective_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        host = self.redis.host.get(self.region) or self.redis.host.get("global") or "localhost"
        return f"redis://{host}:{self.redis.port}/{self.redis.db}"

    @property
    def effective_dynamodb_endpoint(self) -> str | None:
        return self.dynamodb_server or self.endpoint_url

    def sts_endpoint(self) -> str | None:
        """The regional STS endpoint (ConsoleMe's default), or None to let boto3/AWS_ENDPOINT_URL decide."""
        if self.sts_endpoint_url:
            return self.sts_endpoint_url.format(region=self.region)
        return None

    def role_change_queue_arn(self) -> str | None:
        """The role-change queue's ARN with `{region}` filled in (None when unset)."""
        arn = self.role_changes.queue_arn
        return arn.replace("{region}", self.region) if arn else None

    def s3_bucket_for(self, obj: S3Object) -> str | None:
        return obj.bucket or self.consoleme_s3_bucket

    def org_role_for(self, source: OrganizationSource) -> str:
        role = source.organizations_master_role_to_assume or self.spoke_role_name
        if not role:
            raise ValueError(
                f"cache_accounts_from_aws_organizations: account {source.organizations_master_account_id} has no "
                "organizations_master_role_to_assume and policies.role_name is not set"
            )
        return role
