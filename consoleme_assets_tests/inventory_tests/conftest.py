import dagster as dg
import pytest

from consoleme_assets_tests.catalog import aws_accounts


@pytest.fixture
def accounts_ready(sandbox_env, instance, resources):
    """The seeded sandbox with its account partitions created (aws_accounts materialized)."""
    assert dg.materialize([aws_accounts], instance=instance, resources=resources).success
