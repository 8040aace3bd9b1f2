"""Self-service caches: resource templates and the self-service typeahead (ConsoleMe 1.4 beat tasks)."""
