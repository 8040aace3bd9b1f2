"""The `consoleme-assets` command line (`python -m consoleme_assets.cli`)."""

from .main import main, run

__all__ = ["main", "run"]
