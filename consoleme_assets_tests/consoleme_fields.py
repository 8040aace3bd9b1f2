"""ConsoleMe's record layouts the tests hold our output to, restated from its models (spec), not imported from the
code under test."""

# ConsoleMeUserNotification's fields in declaration order (its `.dict()` order, which ConsoleMe stores).
NOTIFICATION_FIELDS = [
    "predictable_id",
    "type",
    "users_or_groups",
    "event_time",
    "expiration",
    "expired",
    "header",
    "message",
    "message_actions",
    "details",
    "read_by_users",
    "read_by_all",
    "hidden_for_users",
    "hidden_for_all",
    "read_for_current_user",
    "version",
]
