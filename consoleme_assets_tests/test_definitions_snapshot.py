"""The loaded definitions, as a user sees them in the UI, equal the reviewed snapshot (definitions_snapshot.py)."""

import difflib
import json
from pathlib import Path

from consoleme_assets.definitions import defs
from consoleme_assets_tests.definitions_snapshot import snapshot

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
REGENERATE = "python -m consoleme_assets_tests.definitions_snapshot > consoleme_assets_tests/snapshots/definitions.json"


def test_definitions_match_the_reviewed_snapshot():
    current = json.dumps(snapshot(defs), indent=1, sort_keys=True).splitlines()
    reviewed = SNAPSHOT.read_text().splitlines()
    diff = list(difflib.unified_diff(reviewed, current, "reviewed", "loaded", lineterm="", n=2))
    assert not diff, (
        "the loaded definitions differ from the reviewed snapshot; if the change is intended, review it and run "
        f"`{REGENERATE}`:\n" + "\n".join(diff[:200])
    )
