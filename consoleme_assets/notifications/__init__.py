"""ConsoleMe's notifications cache (cache_notifications)."""
