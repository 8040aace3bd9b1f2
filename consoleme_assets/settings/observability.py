"""Freshness, alert, compatibility-key and metrics knobs (our own, under `consoleme_assets:`; the CloudWatch
namespace is ConsoleMe's own `metrics.cloudwatch.namespace`)."""

from typing import Literal

from pydantic import model_validator

from .fields import Strict, ck


class FreshnessWindow(Strict):
    """Override of one asset's windows (`consoleme_assets.freshness.<asset>`); either may be left out."""

    warn_minutes: int | None = None
    fail_minutes: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "FreshnessWindow":
        for name in ("warn_minutes", "fail_minutes"):
            value = getattr(self, name)
            if value is not None and value < 1:  # Dagster rejects windows under one minute
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.warn_minutes is not None and self.fail_minutes is not None and self.warn_minutes >= self.fail_minutes:
            raise ValueError(f"warn_minutes ({self.warn_minutes}) must be less than fail_minutes ({self.fail_minutes})")
        return self


Notifier = Literal["log", "sns", "webhook"]


class AlertSettings(Strict):
    notifiers: list[Notifier] = ck("consoleme_assets.alerts.notifiers", default_factory=lambda: ["log"])
    sns_topic_arn: str | None = ck("consoleme_assets.alerts.sns_topic_arn")
    webhook_url: str | None = ck("consoleme_assets.alerts.webhook_url")
    webhook_timeout_seconds: float = ck("consoleme_assets.alerts.webhook_timeout_seconds", default=10.0, gt=0)
    # How often the alert sensor judges freshness (Dagster's sensor loop runs every 5 s, so less is moot).
    sensor_interval_seconds: int = ck("consoleme_assets.alerts.sensor_interval_seconds", default=60, ge=5)

    @model_validator(mode="after")
    def _targets(self) -> "AlertSettings":
        if "sns" in self.notifiers and not self.sns_topic_arn:
            raise ValueError("notifier 'sns' needs consoleme_assets.alerts.sns_topic_arn")
        if "webhook" in self.notifiers and not self.webhook_url:
            raise ValueError("notifier 'webhook' needs consoleme_assets.alerts.webhook_url")
        return self


class MetricsSettings(Strict):
    sink: Literal["log", "cloudwatch", "none"] = ck("consoleme_assets.metrics.sink", default="log")
    cloudwatch_namespace: str = ck("metrics.cloudwatch.namespace", default="ConsoleMe")


class ObservabilitySettings(Strict):
    ui_base_url: str = ck("consoleme_assets.ui_base_url", default="http://127.0.0.1:3000")
    freshness: dict[str, FreshnessWindow] = ck("consoleme_assets.freshness", default_factory=dict)
    # ConsoleMe's `consoleme.celery_tasks.celery_tasks.<task>.last_success` keys, for alerts built on them.
    compatibility_keys: bool = ck("consoleme_assets.compatibility_keys.enabled", default=False)
    alerts: AlertSettings = AlertSettings()
    metrics: MetricsSettings = MetricsSettings()
    # How often cache_presence_sensor looks for caches lost from Redis. A refill goes one dependency level per
    # tick (upstream first), so a flushed Redis is whole again after about five intervals plus the runs.
    presence_interval_seconds: int = ck("consoleme_assets.presence.sensor_interval_seconds", default=30, ge=5)
