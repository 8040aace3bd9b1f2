"""Helpers: materializations with chosen timestamps, freshness state changes, a webhook receiver, a config file."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

from consoleme_assets.lib.resources import ConsoleMeResource


def materialize_at(
    instance: dg.DagsterInstance, asset: str, partition: str | None, ts: float, metadata: dict[str, Any] | None = None
) -> None:
    """A runless materialization stored with timestamp `ts` (how time is driven in these tests)."""
    mat = dg.AssetMaterialization(asset, partition=partition, metadata=metadata or {})
    instance.report_dagster_event(
        DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            event_specific_data=StepMaterializationData(mat),
            job_name=RUNLESS_JOB_NAME,
        ),
        run_id=RUNLESS_RUN_ID,
        timestamp=ts,
    )


def set_freshness(instance: dg.DagsterInstance, asset: str, state: str, ts: float) -> None:
    """What the FreshnessDaemon writes when an asset's state changes."""
    key = dg.AssetKey(asset)
    previous = instance.get_freshness_state_records([key]).get(key)
    instance.report_runless_asset_event(
        FreshnessStateChange(
            key=key,
            new_state=FreshnessState(state),
            previous_state=previous.freshness_state if previous else FreshnessState.UNKNOWN,
            state_change_timestamp=ts,
        )
    )


def config_file(tmp_path: Path, consoleme_assets: dict[str, Any], **top: Any) -> str:
    path = tmp_path / "observability.yaml"
    path.write_text(yaml.safe_dump({"consoleme_assets": consoleme_assets, **top}))
    return str(path)


def resource(path: str) -> ConsoleMeResource:
    return ConsoleMeResource(config_file=path)


def tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None, consoleme: ConsoleMeResource):
    """(alerts-or-metrics summary, new cursor) of one evaluation."""
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"consoleme": consoleme}) as context:
        result = sensor(context)
    return result.skip_reason.skip_message, result.cursor


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server on a free port; yields (url, bodies received)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
