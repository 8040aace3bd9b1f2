"""Where alerts go: log (default), an SNS topic, a webhook (POST JSON). Chosen by
`consoleme_assets.alerts.notifiers`; one failing notifier does not keep the alert from the others."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from ..settings.observability import AlertSettings
from .alerts import Alert

log = logging.getLogger("consoleme_assets.alerts")


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class LogNotifier:
    name = "log"

    def __init__(self, logger: Any = None):
        self.logger = logger or log

    def send(self, alert: Alert) -> None:
        level = self.logger.info if alert.state == "PASS" else self.logger.warning
        level(f"ALERT {alert.subject}: {alert.message} <{alert.url}>")


class SnsNotifier:
    """`publish(subject, message)`: to the configured topic (aws/publish.sns_publisher)."""

    name = "sns"

    def __init__(self, publish: Callable[[str, str], None]):
        self.publish = publish

    def send(self, alert: Alert) -> None:
        self.publish(alert.subject, json.dumps(alert.to_dict(), default=str))


class WebhookNotifier:
    name = "webhook"

    def __init__(self, url: str, timeout_seconds: float = 10.0):
        self.url = url
        self.timeout_seconds = timeout_seconds

    def send(self, alert: Alert) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(alert.to_dict(), default=str).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            if response.status >= 300:
                raise RuntimeError(f"webhook {self.url} answered HTTP {response.status}")


def build_notifiers(
    settings: AlertSettings, sns_publisher_for: Callable[[str], Callable[[str, str], None]], logger: Any = None
) -> list[Notifier]:
    """`sns_publisher_for(topic ARN)` gives the topic's `publish(subject, message)` (aws/publish.sns_publisher,
    which refuses an ARN that is not an SNS topic's)."""
    out: list[Notifier] = []
    for name in dict.fromkeys(settings.notifiers):
        if name == "log":
            out.append(LogNotifier(logger))
        elif name == "sns":
            out.append(SnsNotifier(sns_publisher_for(settings.sns_topic_arn or "")))
        elif name == "webhook":
            out.append(WebhookNotifier(settings.webhook_url or "", settings.webhook_timeout_seconds))
    return out


def deliver(
    alerts: list[Alert], notifiers: list[Notifier], logger: Any = None, undelivered: list[Alert] | None = None
) -> list[str]:
    """Send every alert through every notifier; returns one line per failed delivery (already logged). Alerts
    that reached no notifier at all are appended to `undelivered` (the caller may retry them)."""
    logger = logger or log
    errors = []
    for alert in alerts:
        failed = 0
        for notifier in notifiers:
            try:
                notifier.send(alert)
            except Exception as exc:  # an unreachable webhook must not silence SNS or the log
                line = f"notifier {notifier.name}: sending '{alert.subject}' failed: {type(exc).__name__}: {exc}"
                logger.error(line)
                errors.append(line)
                failed += 1
        if notifiers and failed == len(notifiers) and undelivered is not None:
            undelivered.append(alert)
    return errors
