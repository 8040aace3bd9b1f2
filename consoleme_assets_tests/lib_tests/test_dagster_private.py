"""The private Dagster APIs lib/dagster_private.py relies on still exist with the shapes it uses. A Dagster upgrade
that moves or changes one fails here, naming it, instead of at run time deep inside an executor or a refresh."""

import inspect

import dagster as dg
import pytest

from consoleme_assets.lib import dagster_private as private


@pytest.mark.parametrize(
    "name",
    ["core_in_process_executor_creation", "core_multiprocess_executor_creation", "default_executor_requirements"],
)
def test_executor_factories_take_one_config_mapping(name):
    parameters = list(inspect.signature(getattr(private, name)).parameters)
    assert len(parameters) == 1, f"dagster_private.{name} now takes {parameters}"


def test_executors_built_from_run_config_carry_retries_and_step_dependencies():
    in_process = private.core_in_process_executor_creation({"retries": {"disabled": {}}})
    assert in_process.retries == private.RetryMode.DISABLED
    multiprocess = private.core_multiprocess_executor_creation({"retries": {"enabled": {}}, "max_concurrent": 2})
    assert multiprocess.retries == private.RetryMode.ENABLED
    assert isinstance(multiprocess.step_dependency_config, private.StepDependencyConfig)
    # What each side needs from the run: step processes need a reconstructable job; the in-process side nothing.
    assert private.default_executor_requirements({"multiprocess": {}})
    assert private.default_executor_requirements({"in_process": {}}) == []


def test_asset_jobs_are_recognised():
    assert isinstance(dg.define_asset_job("probe", selection=["x"]), private.UnresolvedAssetJobDefinition)


def test_the_postgres_event_log_keeps_its_engine_where_we_read_it():
    from dagster_postgres.event_log.event_log import PostgresEventLogStorage

    assert "self._engine" in inspect.getsource(PostgresEventLogStorage), (
        "PostgresEventLogStorage no longer sets self._engine: lib/event_log.py cannot tell whether it pools"
    )
    with dg.instance_for_test() as instance:  # SQLite: no single engine; pooling is left alone
        assert private.event_log_engine(instance) is None or hasattr(private.event_log_engine(instance), "pool")


def test_a_ui_backfills_partitions_are_read_where_we_read_them(instance):
    from dagster._core.execution.backfill import PartitionBackfill

    from consoleme_assets.definitions import defs

    accounts = [f"{n:012d}" for n in range(1, 6)]
    instance.add_dynamic_partitions("aws_accounts", accounts)
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="probe",
        asset_graph=defs.resolve_asset_graph(),
        partition_names=accounts[1:4],
        asset_selection=[dg.AssetKey("iam_resources")],
        backfill_timestamp=0.0,
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    keys = private.backfill_partition_keys(instance, "probe", dg.AssetKey("iam_resources"))
    assert keys is not None, "PartitionBackfill.asset_backfill_data is no longer set for asset backfills"
    assert sorted(keys) == accounts[1:4]
    assert private.backfill_partition_keys(instance, "no-such-backfill", dg.AssetKey("iam_resources")) is None


def test_streamed_runs_are_recorded_as_dg_materialize_records_them():
    partitions = dg.StaticPartitionsDefinition(["a", "b"])

    # As the refreshes are: no output, a materialization per partition of a range run.
    @dg.multi_asset(
        specs=[dg.AssetSpec("fine", partitions_def=partitions)], backfill_policy=dg.BackfillPolicy.single_run()
    )
    def fine(context: dg.AssetExecutionContext):
        for key in context.partition_keys:
            yield dg.AssetMaterialization("fine", partition=key, metadata={"key": key})

    @dg.asset
    def broken() -> None:
        raise ValueError("no access to account 42")

    with dg.instance_for_test() as instance:
        seen: list[dg.DagsterEvent] = []
        tags = {
            "consoleme_assets/cli": "refresh",
            "dagster/asset_partition_range_start": "a",
            "dagster/asset_partition_range_end": "b",
        }
        run = private.materialize_streaming([fine, broken], ["fine"], instance, {}, tags, {}, seen.append)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == dg.materialize([fine], instance=instance, partition_key="a").dagster_run.job_name
        assert run.tags["consoleme_assets/cli"] == "refresh"
        materialized = {
            e.step_materialization_data.materialization.partition for e in seen if e.is_step_materialization
        }
        assert materialized == {"a", "b"}
        assert instance.get_materialized_partitions(dg.AssetKey("fine")) == {"a", "b"}

        seen.clear()
        failed = private.materialize_streaming([fine, broken], ["broken"], instance, {}, {}, {}, seen.append)
        assert failed.status == dg.DagsterRunStatus.FAILURE  # raise_on_error=False: the caller reads the failure
        assert any(e.is_step_failure and "account 42" in str(e.step_failure_data.error) for e in seen)
