"""Settings of the notifications generated from CloudTrail errors (ConsoleMe's `process_cloudtrail_errors.*` keys,
read in consoleme/lib/cloudtrail.py `CloudTrail.process_cloudtrail_errors`; names and defaults are ConsoleMe's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError, field_validator

from .fields import Strict, ck

if TYPE_CHECKING:
    from .loader import ConfigTree

_PREFIX = "process_cloudtrail_errors"


class CloudTrailNotificationSettings(Strict):
    # How long a notification lives: ConsoleMe's default is a day.
    notification_ttl: int = ck(f"{_PREFIX}.notification_ttl", default=86400, ge=60)
    # Markdown shown in the bell. None: our default text. `{arn}` and `{url_role_path}` are filled in (ConsoleMe
    # filled them only in its default text and showed a configured one verbatim).
    message: str | None = ck(f"{_PREFIX}.generate_notifications.message")
    # ConsoleMe ran IAM's policy simulator once per new notification when this was truthy (unset = off).
    simulate_iam_principal_action: bool = ck(f"{_PREFIX}.simulate_iam_principal_action", default=False)
    # Users or groups added to every generated notification (ConsoleMe: "development users").
    additional_notify_users: list[str] = ck(f"{_PREFIX}.additional_notify_users", default_factory=list)

    @field_validator("additional_notify_users", mode="before")
    @classmethod
    def _one_user_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


def cloudtrail_notification_settings(tree: ConfigTree) -> CloudTrailNotificationSettings:
    """The settings from a loaded config tree; a SettingsError naming the file and key at fault."""
    # Imported here: the package's __init__ imports model.py, which is to import this module.
    from . import _collect, _describe_error
    from .loader import SettingsError

    sources: dict[tuple, str] = {}
    data = _collect(CloudTrailNotificationSettings, tree, (), sources, [])
    try:
        return CloudTrailNotificationSettings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe_error(e, sources, tree) for e in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
