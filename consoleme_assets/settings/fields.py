"""Field helpers shared by the settings models: which ConsoleMe key feeds a field."""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")


def ck(*keys: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from the first of `keys` present in the config file."""
    extra = {"consoleme_keys": list(keys)}
    if "default_factory" in kwargs:
        return Field(json_schema_extra=extra, **kwargs)
    return Field(default=default, json_schema_extra=extra, **kwargs)


def normalize_account_id(value: Any, what: str = "account id") -> str:
    """YAML turns an unquoted 012345678901 into an int: accept ints and pad them back to 12 digits."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be 12 digits, got {value!r}")
    if isinstance(value, int):
        value = f"{value:012d}"
    if not isinstance(value, str) or not ACCOUNT_ID_RE.match(value.strip()):
        raise ValueError(f"{what} must be 12 digits, got {value!r}")
    return value.strip()


def account_keyed(value: Any) -> Any:
    """A mapping keyed by account id, its keys normalized (`normalize_account_id`); anything else unchanged,
    for the field's own type to reject."""
    if not isinstance(value, dict):
        return value
    return {normalize_account_id(k, f"account id {k!r}"): v for k, v in value.items()}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
