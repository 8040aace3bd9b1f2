"""Where the account list lives, for the dataset declaration and for anything that must not import Dagster (the
floor benchmark measures the same writes without it)."""

from ..stores.caches import JsonDocument

ACCOUNTS_STORAGE = JsonDocument(lambda s: s.redis_keys.all_accounts, lambda s: s.s3.accounts)
