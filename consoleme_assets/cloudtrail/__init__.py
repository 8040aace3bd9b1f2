"""CloudTrail error counts per principal (ConsoleMe cache_cloudtrail_errors_by_arn)."""
