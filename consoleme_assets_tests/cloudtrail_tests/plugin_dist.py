"""A tiny installed distribution on sys.path (a module plus its dist-info with entry_points.txt), so the
plugin tests go through importlib.metadata for real."""

import uuid
from pathlib import Path

# A plugin module: a source, and something that is not one.
PLUGIN_SOURCE = """
def errors_by_arn(context):
    context.report["seen_region"] = context.settings.region
    return {"arn:aws:iam::111122223333:role/from-plugin": 4}

NOT_CALLABLE = 3
"""


def install_plugin_dist(monkeypatch, root: Path, entry_points: dict[str, str], module_source: str) -> str:
    """Write module `<name>.py` and `<name>-0.1.dist-info/` under `root`, put `root` on sys.path and return
    the module name. `entry_points` maps entry-point names to attributes of the module ("" = the module itself)."""
    module = f"ct_plugin_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(module_source)
    dist_info = root / f"{module}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    lines = ["[consoleme_assets.plugins]"]
    lines += [f"{name} = {module}{':' + attr if attr else ''}" for name, attr in entry_points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(root))  # also invalidates import caches
    return module
