"""ConsoleMe's storage: Redis strings and hashes, the S3 envelope, the LAST_UPDATED stamp, ConsoleMe's DynamoDB
tables. The only package that touches a Redis, S3 or DynamoDB client (test_sealed.py checks it).

Public surface (everything else in here is internal):
- `connect.open_caches(settings, sessions, storage=...)` -> `ConsoleMeCaches`; `connect.check_redis` / `RedisUnreachable`.
- `ConsoleMeCaches` (caches.py): JSON documents (`write_json`, `read_json`), per-account lists
  (`write_account_list`, `write_account_list_combined`, `read_account_lists`, `account_list_from_s3`),
  notifications, S3 copies (`s3_copies`: `put`, `forget`, `read_once`; s3_copies.py), hash reads for checks and readers (`iter_json_hash`,
  `sample_hash`, `hash_size`, `hash_fields`, `fields_present`, `read_hash`, `lost_keys`), ConsoleMe's tables
  (`scan_table`, `get_table_items`, `put_table_items`), unstamped compatibility keys (`set_plain_keys`).
- `IamCache` (iam_cache.py): one account's IAM write, one role's write/removal (`write_role`, `remove_roles`,
  `cached_role_arns`), `entries(kind)`, the combined files, replica hydration.
- `ConfigCacheStore` (config_cache.py): one account's AWS Config write, the ttl sweep, the combined file.
- Write reports (`reports.WriteReport`, `AccountWrite`, `RunWrite`) and `tables.DynamoSourceError`.
- `ChangeHistory` (history_store.py): change records, Redis window + daily S3 files (`append`, `flush`, `sweep`, `read`).
"""

from .encoding import dumps_consoleme, envelope, open_envelope
from .redis_store import RedisStore
from .s3_store import S3Store

__all__ = ["RedisStore", "S3Store", "dumps_consoleme", "envelope", "open_envelope"]
