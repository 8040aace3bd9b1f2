"""The typed settings model. Every field names the ConsoleMe config key(s) it is read from.

Defaults are ConsoleMe's defaults, so an empty file gives ConsoleMe's key names and S3 layout.
Where ConsoleMe's writers and readers use different config keys for the same thing, a field lists
both (first present wins) so the value lands where ConsoleMe's web tier reads it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")


def ck(*keys: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from the first of `keys` present in the config file."""
    extra = {"consoleme_keys": list(keys)}
    if "default_factory" in kwargs:
        return Field(json_schema_extra=extra, **kwargs)
    return Field(default=default, json_schema_extra=extra, **kwargs)


def normalize_account_id(value: Any, what: str = "account id") -> str:
    """YAML turns an unquoted 012345678901 into an int: accept ints and pad them back to 12 digits."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be 12 digits, got {value!r}")
    if isinstance(value, int):
        value = f"{value:012d}"
    if not isinstance(value, str) or not ACCOUNT_ID_RE.match(value.strip()):
        raise ValueError(f"{what} must be 12 digits, got {value!r}")
    return value.strip()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Object(_Strict):
    """One S3 object ConsoleMe reads: bucket (None = `consoleme_s3_bucket`) and a key template."""

    bucket: str | None = None
    file: str
    fixed: dict[str, str] = Field(default_factory=dict)  # placeholders ConsoleMe fills in itself

    def key(self, **values: str) -> str:
        try:
            return self.file.format(**{**self.fixed, **values})
        except KeyError as exc:
            raise ValueError(f"S3 file template {self.file!r} needs placeholder {exc}") from None


def s3obj(bucket_keys: tuple[str, ...], file_keys: tuple[str, ...], default_file: str, **fixed: str) -> Any:
    return Field(
        default=S3Object(file=default_file, fixed=fixed),
        json_schema_extra={"s3_bucket_keys": list(bucket_keys), "s3_file_keys": list(file_keys)},
    )


_PER_TYPE = "account_resource_cache/cache_{resource_type}_{account_id}_v1.json.gz"


class S3Objects(_Strict):
    accounts: S3Object = s3obj(
        ("cache_cloud_accounts.s3.bucket",), ("cache_cloud_accounts.s3.file",), "cache_cloud_accounts/accounts_v1.json.gz"
    )
    account_authorization_details: S3Object = s3obj(
        ("cache_iam_resources_for_account.s3.bucket",),
        ("cache_iam_resources_for_account.s3.file",),
        "get_account_authorization_details/get_account_authorization_details_{account_id}_v1.json.gz",
    )
    iam_roles: S3Object = s3obj(
        ("cache_iam_resources_for_account.iam_roles.s3.bucket",),
        ("cache_iam_resources_for_account.iam_roles.s3.file",),
        _PER_TYPE,
        resource_type="iam_roles",
    )
    iam_users: S3Object = s3obj(
        ("cache_iam_resources_for_account.iam_users.s3.bucket",),
        ("cache_iam_resources_for_account.iam_users.s3.file",),
        _PER_TYPE,
        resource_type="iam_users",
    )
    iam_groups: S3Object = s3obj(
        ("cache_iam_resources_for_account.iam_groups.s3.bucket",),
        ("cache_iam_resources_for_account.iam_groups.s3.file",),
        _PER_TYPE,
        resource_type="iam_groups",
    )
    iam_policies: S3Object = s3obj(
        ("cache_iam_resources_for_account.iam_policies.s3.bucket",),
        ("cache_iam_resources_for_account.iam_policies.s3.file",),
        _PER_TYPE,
        resource_type="iam_policies",
    )
    all_roles: S3Object = s3obj(
        ("cache_iam_resources_across_accounts.all_roles_combined.s3.bucket",),
        ("cache_iam_resources_across_accounts.all_roles_combined.s3.file",),
        "account_resource_cache/cache_all_roles_v1.json.gz",
    )
    all_users: S3Object = s3obj(
        ("cache_iam_resources_across_accounts.all_users_combined.s3.bucket",),
        ("cache_iam_resources_across_accounts.all_users_combined.s3.file",),
        "account_resource_cache/cache_all_users_v1.json.gz",
    )
    all_groups: S3Object = s3obj(
        ("cache_iam_resources_across_accounts.all_groups_combined.s3.bucket",),
        ("cache_iam_resources_across_accounts.all_groups_combined.s3.file",),
        "account_resource_cache/cache_all_groups_v1.json.gz",
    )
    all_policies: S3Object = s3obj(
        ("cache_iam_resources_across_accounts.all_policies_combined.s3.bucket",),
        ("cache_iam_resources_across_accounts.all_policies_combined.s3.file",),
        "account_resource_cache/cache_all_policies_v1.json.gz",
    )
    managed_policies: S3Object = s3obj(
        ("account_resource_cache.s3.bucket",), ("account_resource_cache.s3.file",), _PER_TYPE,
        resource_type="managed_policies",
    )
    s3_buckets: S3Object = s3obj(
        ("account_resource_cache.s3.bucket",), ("account_resource_cache.s3.file",), _PER_TYPE,
        resource_type="s3_buckets",
    )
    # ConsoleMe reads the SQS file key with an unformatted "{resource_type}" in the key name.
    sqs_queues: S3Object = s3obj(
        ("account_resource_cache.sqs.bucket",), ("account_resource_cache.{resource_type}.file",), _PER_TYPE,
        resource_type="sqs_queues",
    )
    sns_topics: S3Object = s3obj(
        ("account_resource_cache.s3.bucket",), ("account_resource_cache.s3.file",), _PER_TYPE,
        resource_type="sns_topics",
    )
    s3_combined: S3Object = s3obj(
        ("account_resource_cache.s3_combined.bucket",),
        ("account_resource_cache.s3_combined.file",),
        "account_resource_cache/cache_s3_combined_v1.json.gz",
    )
    sqs_combined: S3Object = s3obj(
        ("account_resource_cache.sqs_combined.bucket",),
        ("account_resource_cache.sqs_combined.file",),
        "account_resource_cache/cache_sqs_queues_combined_v1.json.gz",
    )
    # Writer and reader disagree on the SNS file key; the reader's key (what the web uses) wins.
    sns_combined: S3Object = s3obj(
        ("account_resource_cache.sns_topics_combined.bucket",),
        (
            "account_resource_cache.sns_topics_topics_combined.file",
            "account_resource_cache.{resource_type}_topics_combined.file",
        ),
        "account_resource_cache/cache_sns_topics_combined_v1.json.gz",
    )
    aws_config: S3Object = s3obj(
        ("aws_config_cache.s3.bucket",), ("aws_config_cache.s3.file",), "aws_config_cache/cache_{account_id}_v1.json.gz"
    )
    aws_config_combined: S3Object = s3obj(
        ("aws_config_cache_combined.s3.bucket",),
        ("aws_config_cache_combined.s3.file",),
        "aws_config_cache_combined/aws_config_resource_cache_combined_v1.json.gz",
    )
    policies_table: S3Object = s3obj(
        ("cache_policies_table_details.s3.bucket",),
        ("cache_policies_table_details.s3.file",),
        "policies_table/cache_policies_table_details_v1.json.gz",
    )
    policy_requests: S3Object = s3obj(
        ("cache_policy_requests.s3.bucket",), ("cache_policy_requests.s3.file",),
        "policy_requests/all_policy_requests_v1.json.gz",
    )
    credential_authorization_mapping: S3Object = s3obj(
        ("generate_and_store_credential_authorization_mapping.s3.bucket",),
        ("generate_and_store_credential_authorization_mapping.s3.file",),
        "credential_authorization_mapping/credential_authorization_mapping_v1.json.gz",
    )
    reverse_authorization_mapping: S3Object = s3obj(
        ("generate_and_store_reverse_authorization_mapping.s3.bucket",),
        ("generate_and_store_reverse_authorization_mapping.s3.file",),
        "reverse_authorization_mapping/reverse_authorization_mapping_v1.json.gz",
    )
    scps: S3Object = s3obj(
        ("cache_scps_across_organizations.s3.bucket",),
        ("cache_scps_across_organizations.s3.file",),
        "scps/cache_scps_v1.json.gz",
    )
    org_structure: S3Object = s3obj(
        ("cache_organization_structure.s3.bucket",),
        ("cache_organization_structure.s3.file",),
        "scps/cache_org_structure_v1.json.gz",
    )
    notifications: S3Object = s3obj(
        ("notifications.s3.bucket",), ("notifications.s3.key",), "notifications/all_notifications_v1.json.gz"
    )


class RedisKeys(_Strict):
    all_accounts: str = ck("cache_cloud_accounts.redis.key.all_accounts_key", default="ALL_AWS_ACCOUNTS")
    iam_roles: str = ck("aws.iamroles_redis_key", default="IAM_ROLE_CACHE")
    iam_users: str = ck("aws.iamusers_redis_key", default="IAM_USER_CACHE")
    iam_groups: str = ck("aws.iamgroups_redis_key", default="IAM_GROUP_CACHE")
    iam_policies: str = ck("aws.iampolicies_redis_key", default="IAM_POLICY_CACHE")
    iam_managed_policies: str = ck("redis.iam_managed_policies_key", default="IAM_MANAGED_POLICIES")
    # ConsoleMe's writers read redis.s3_buckets_key, some readers redis.s3_bucket_key.
    s3_buckets: str = ck("redis.s3_buckets_key", "redis.s3_bucket_key", default="S3_BUCKETS")
    sqs_queues: str = ck("redis.sqs_queues_key", default="SQS_QUEUES")
    sns_topics: str = ck("redis.sns_topics_key", default="SNS_TOPICS")
    aws_config_resources: str = ck("aws_config_cache.redis_key", default="AWSCONFIG_RESOURCE_CACHE")
    all_policies: str = ck("policies.redis_policies_key", default="ALL_POLICIES")
    cloudtrail_errors_by_arn: str = ck(
        "celery.cache_cloudtrail_errors_by_arn.redis_key", default="CLOUDTRAIL_ERRORS_BY_ARN"
    )
    all_notifications: str = ck("notifications.redis_key", default="ALL_NOTIFICATIONS")
    # The web reads cache_all_policy_requests.redis_key; ConsoleMe's writer cache_policy_requests.redis_key.
    all_policy_requests: str = ck(
        "cache_all_policy_requests.redis_key", "cache_policy_requests.redis_key", default="ALL_POLICY_REQUESTS"
    )
    credential_authorization_mapping: str = ck(
        "generate_and_store_credential_authorization_mapping.redis_key", default="CREDENTIAL_AUTHORIZATION_MAPPING_V1"
    )
    reverse_authorization_mapping: str = ck(
        "generate_and_store_reverse_authorization_mapping.redis_key", default="REVERSE_AUTHORIZATION_MAPPING_V1"
    )
    all_scps: str = ck("cache_scps_across_organizations.redis.key.all_scps_key", default="ALL_AWS_SCPS")
    org_structure: str = ck("cache_organization_structure.redis.key.org_structure_key", default="AWS_ORG_STRUCTURE")
    templated_roles: str = ck("templated_roles.redis_key", default="TEMPLATED_ROLES_v2")
    s3_errors: str = ck("redis.s3_errors", default="S3_ERRORS")
    last_updated: str = ck(
        "store_json_results_in_redis_and_s3.last_updated_redis_key",
        default="STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED",
    )


class DynamoTables(_Strict):
    iam_roles: str = ck("aws.iamroles_dynamo_table", default="consoleme_iamroles_global")
    policy_requests: str = ck("aws.policy_requests_dynamo_table", default="consoleme_policy_requests")
    resource_cache: str = ck("aws.resource_cache_dynamo_table", default="consoleme_resource_cache")
    cloudtrail: str = ck("aws.cloudtrail_table", default="consoleme_cloudtrail")
    notifications: str = ck("aws.notifications_table", default="consoleme_notifications")


class RedisSettings(_Strict):
    host: dict[str, str] = ck("redis.host", default_factory=dict)  # region or "global" -> host
    port: int = ck("redis.port", default=6379)
    db: int = ck("redis.db", default=0)

    @field_validator("host", mode="before")
    @classmethod
    def _host_string_is_global(cls, value: Any) -> Any:
        return {"global": value} if isinstance(value, str) else value


class OrganizationSource(_Strict):
    organizations_master_account_id: str
    organizations_master_role_to_assume: str | None = None

    @field_validator("organizations_master_account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> str:
        return normalize_account_id(value, "organizations_master_account_id")


class RoleFilter(_Strict):
    allowed_tags: dict[str, str] = ck("roles.allowed_tags", default_factory=dict)
    allowed_arns: list[str] = ck("roles.allowed_arns", default_factory=list)
    allowed_tag_keys: list[str] = ck("roles.allowed_tag_keys", default_factory=list)


class AwsConfigSettings(_Strict):
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

    def enabled_for(self, account_id: str) -> bool:
        if self.enabled is not None:
            return self.enabled
        entry = self.enabled_by_account.get(account_id)
        return bool(entry.get("enabled", True)) if isinstance(entry, dict) else True


class Tuning(_Strict):
    """Our own knobs, under `consoleme_assets:` (ConsoleMe ignores the section)."""

    max_concurrent_accounts: int = ck("consoleme_assets.max_concurrent_accounts", default=8, ge=1, le=256)
    aws_max_attempts: int = ck("consoleme_assets.aws_max_attempts", default=10, ge=1, le=50)
    spoke_role_external_id: str | None = ck("consoleme_assets.spoke_role_external_id")
    role_session_name: str = ck("consoleme_assets.role_session_name", default="consoleme-assets")


class Settings(_Strict):
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
    tuning: Tuning = Tuning()

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
        if not isinstance(value, dict):
            return value
        return {normalize_account_id(k, f"account id {k!r}"): v for k, v in value.items()}

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
