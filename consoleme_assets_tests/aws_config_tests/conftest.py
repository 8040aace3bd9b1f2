from .helpers import accounts_ready, use_config  # noqa: F401  (fixtures)
