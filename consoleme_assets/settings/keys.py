"""ConsoleMe's key inventory: every Redis key, S3 object and DynamoDB table name, with ConsoleMe's defaults."""

from typing import Any

from pydantic import Field

from .fields import Strict, ck


class S3Object(Strict):
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


class S3Objects(Strict):
    accounts: S3Object = s3obj(
        ("cache_cloud_accounts.s3.bucket",),
        ("cache_cloud_accounts.s3.file",),
        "cache_cloud_accounts/accounts_v1.json.gz",
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
        ("account_resource_cache.s3.bucket",),
        ("account_resource_cache.s3.file",),
        _PER_TYPE,
        resource_type="managed_policies",
    )
    s3_buckets: S3Object = s3obj(
        ("account_resource_cache.s3.bucket",),
        ("account_resource_cache.s3.file",),
        _PER_TYPE,
        resource_type="s3_buckets",
    )
    # ConsoleMe reads the SQS file key with an unformatted "{resource_type}" in the key name.
    sqs_queues: S3Object = s3obj(
        ("account_resource_cache.sqs.bucket",),
        ("account_resource_cache.{resource_type}.file",),
        _PER_TYPE,
        resource_type="sqs_queues",
    )
    sns_topics: S3Object = s3obj(
        ("account_resource_cache.s3.bucket",),
        ("account_resource_cache.s3.file",),
        _PER_TYPE,
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
        ("cache_policy_requests.s3.bucket",),
        ("cache_policy_requests.s3.file",),
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
    templated_resources: S3Object = s3obj(
        ("cache_resource_templates.s3.bucket",),
        ("cache_resource_templates.s3.file",),
        "cache_templated_resources/cache_templated_resources_v1.json.gz",
    )
    self_service_typeahead: S3Object = s3obj(
        ("cache_self_service_typeahead.s3.bucket",),
        ("cache_self_service_typeahead.s3.file",),
        "cache_self_service_typeahead/cache_self_service_typeahead_v1.json.gz",
    )


class RedisKeys(Strict):
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
    templated_resources: str = ck("cache_resource_templates.redis.key", default="cache_templated_resources_v1")
    self_service_typeahead: str = ck(
        "cache_self_service_typeahead.redis.key", default="cache_self_service_typeahead_v1"
    )
    s3_errors: str = ck("redis.s3_errors", default="S3_ERRORS")
    last_updated: str = ck(
        "store_json_results_in_redis_and_s3.last_updated_redis_key",
        default="STORE_JSON_RESULTS_IN_REDIS_AND_S3_LAST_UPDATED",
    )


class DynamoTables(Strict):
    iam_roles: str = ck("aws.iamroles_dynamo_table", default="consoleme_iamroles_global")
    policy_requests: str = ck("aws.policy_requests_dynamo_table", default="consoleme_policy_requests")
    resource_cache: str = ck("aws.resource_cache_dynamo_table", default="consoleme_resource_cache")
    cloudtrail: str = ck("aws.cloudtrail_table", default="consoleme_cloudtrail")
    notifications: str = ck("aws.notifications_table", default="consoleme_notifications")
