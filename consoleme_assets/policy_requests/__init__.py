"""Policy requests (ConsoleMe cache_policy_requests)."""
