"""Internal data sources plug in as Python entry points in the group `consoleme_assets.plugins`."""

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

GROUP = "consoleme_assets.plugins"


class PluginError(LookupError):
    pass


def load_plugin(name: str, setting: str) -> Callable[..., Any]:
    """The callable registered under `name`; `setting` names the config key that asked for it."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = sorted(ep.name for ep in entry_points(group=GROUP))
        raise PluginError(
            f"{setting}: no entry point {name!r} in group {GROUP!r} (installed: {', '.join(known) or 'none'})"
        )
    if len({ep.value for ep in found}) > 1:
        raise PluginError(f"{setting}: entry point {name!r} is registered twice: {', '.join(ep.value for ep in found)}")
    try:
        return found[0].load()
    except Exception as exc:  # an import error inside the plugin: say which one
        raise PluginError(f"{setting}: entry point {name!r} ({found[0].value}) failed to load: {exc}") from exc
