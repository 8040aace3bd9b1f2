"""Resolving the CloudTrail errors source through real entry points (a dist-info on sys.path, no mocks)."""

import pytest

from consoleme_assets.cloudtrail.plugins import cloudtrail_errors_source, dynamodb_cloudtrail_errors
from consoleme_assets.lib.plugins import PluginError
from consoleme_assets_tests.cloudtrail_tests.plugin_dist import PLUGIN_SOURCE, install_plugin_dist


def test_default_is_built_in_without_entry_points():
    assert cloudtrail_errors_source("default") is dynamodb_cloudtrail_errors


def test_named_entry_point_is_loaded(tmp_path, monkeypatch):
    module = install_plugin_dist(monkeypatch, tmp_path, {"test_errors": "errors_by_arn"}, PLUGIN_SOURCE)
    source = cloudtrail_errors_source("test_errors")
    assert source.__module__ == module and source.__name__ == "errors_by_arn"


def test_missing_entry_point_is_named(tmp_path, monkeypatch):
    install_plugin_dist(monkeypatch, tmp_path, {"test_errors": "errors_by_arn"}, PLUGIN_SOURCE)
    with pytest.raises(PluginError) as caught:
        cloudtrail_errors_source("netflix_errors")
    message = str(caught.value)
    assert message.startswith(
        "consoleme_assets.plugins.cloudtrail_errors: no entry point 'netflix_errors' "
        "in group 'consoleme_assets.plugins'"
    )
    assert "test_errors" in message  # what is installed, to spot a typo


def test_broken_entry_point_is_named(tmp_path, monkeypatch):
    module = install_plugin_dist(monkeypatch, tmp_path, {"broken": "no_such_function"}, PLUGIN_SOURCE)
    with pytest.raises(PluginError, match=rf"entry point 'broken' \({module}:no_such_function\) failed to load"):
        cloudtrail_errors_source("broken")


def test_entry_point_must_be_callable(tmp_path, monkeypatch):
    install_plugin_dist(monkeypatch, tmp_path, {"constant": "NOT_CALLABLE"}, PLUGIN_SOURCE)
    with pytest.raises(PluginError, match="entry point 'constant' .* is a int, not a callable"):
        cloudtrail_errors_source("constant")
