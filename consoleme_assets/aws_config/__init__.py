"""AWS Config resources (ConsoleMe's cache_resources_from_aws_config_* tasks): asset, schedule, definitions."""
