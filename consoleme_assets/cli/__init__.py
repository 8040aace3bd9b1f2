"""The `consoleme-assets` command line (`python -m consoleme_assets.cli`)."""

from .main import main

__all__ = ["main"]
