"""Counts and durations per asset and account, through a pluggable sink: log (default), CloudWatch
PutMetricData (namespace `metrics.cloudwatch.namespace`, ConsoleMe's `ConsoleMe`), or none."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("consoleme_assets.metrics")


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str  # a CloudWatch unit: Count, Seconds, ...
    dimensions: dict[str, str] = field(default_factory=dict)
    timestamp: float | None = None


def metrics_for_materialization(
    asset: str, partition: str | None, metadata: dict[str, Any], timestamp: float
) -> list[Metric]:
    """What one materialization event is worth (pure): a count, and its row count and timings when present."""
    dims = {"Asset": asset, **({"Account": partition} if partition else {})}
    out = [Metric("materializations", 1, "Count", dims, timestamp)]
    for key, name, unit in (
        ("dagster/row_count", "rows", "Count"),
        ("fetch_seconds", "fetch_seconds", "Seconds"),
        ("write_seconds", "write_seconds", "Seconds"),
        ("bytes_written", "bytes_written", "Bytes"),
    ):
        value = metadata.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(Metric(name, float(value), unit, dims, timestamp))
    return out


class MetricsSink(Protocol):
    def emit(self, metrics: list[Metric]) -> None: ...


class LogSink:
    def __init__(self, logger: Any = None):
        self.logger = logger or log

    def emit(self, metrics: list[Metric]) -> None:
        """One DEBUG line per metric (in the sensor's tick log), no INFO line: a tick emits up to ~180 metrics a
        minute, and the tick's summary already counts them."""
        for m in metrics:
            dims = ",".join(f"{k}={v}" for k, v in sorted(m.dimensions.items()))
            self.logger.debug(f"metric {m.name}{{{dims}}} {m.value:g} {m.unit}")


class NullSink:
    def emit(self, metrics: list[Metric]) -> None:
        pass


class CloudWatchSink:
    """`put(namespace, metric data)`: PutMetricData (aws/publish.cloudwatch_putter)."""

    def __init__(self, put: Callable[[str, list[dict[str, Any]]], None], namespace: str = "ConsoleMe"):
        self.put = put
        self.namespace = namespace

    def emit(self, metrics: list[Metric]) -> None:
        data = [
            {
                "MetricName": m.name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(m.dimensions.items())],
                "Value": m.value,
                "Unit": m.unit,
                **({"Timestamp": dt.datetime.fromtimestamp(m.timestamp, dt.UTC)} if m.timestamp else {}),
            }
            for m in metrics
        ]
        try:
            self.put(self.namespace, data)
        except Exception as exc:
            raise RuntimeError(f"CloudWatch PutMetricData to namespace {self.namespace!r} failed: {exc}") from exc


def build_sink(
    kind: str, namespace: str, put: Callable[[str, list[dict[str, Any]]], None] | None = None, logger: Any = None
) -> MetricsSink:
    if kind == "cloudwatch":
        if put is None:
            raise ValueError("consoleme_assets.metrics.sink is cloudwatch but no CloudWatch writer was given")
        return CloudWatchSink(put, namespace)
    if kind == "none":
        return NullSink()
    return LogSink(logger)
