"""The code location: every domain's dataset declarations and extras, found by convention, built by lib/.

A domain is a package here with a `datasets.py`; every module of it is read for `Dataset` declarations and
for Dagster objects of its own (a sensor, an on-demand job, a check); `lib.definitions.build_definitions`
derives the rest. A new dataset is one declaration in a domain's `datasets.py` (docs/adding-a-dataset.md)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import dagster as dg

from .lib.dagster_private import UnresolvedAssetJobDefinition
from .lib.datasets import Dataset
from .lib.definitions import definitions_from, resources_for

# Layers and tools, not domains (imports run domains -> lib -> stores -> aws -> settings).
NOT_DOMAINS = {"aws", "cli", "config", "lib", "sandbox", "settings", "stores"}
DAGSTER_OBJECTS = (
    dg.SensorDefinition,
    dg.ScheduleDefinition,
    dg.JobDefinition,
    UnresolvedAssetJobDefinition,
    dg.AssetChecksDefinition,
    dg.AssetsDefinition,
)


def domain_modules(package: ModuleType) -> Iterator[ModuleType]:
    """Every module of every domain package under `package`, imported, in a stable order."""
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name in NOT_DOMAINS:
            continue
        domain = importlib.import_module(f"{package.__name__}.{info.name}")
        if importlib.util.find_spec(f"{domain.__name__}.datasets") is None:
            continue
        for sub in sorted(pkgutil.iter_modules(domain.__path__), key=lambda i: i.name):
            yield importlib.import_module(f"{domain.__name__}.{sub.name}")


def discover(package: ModuleType) -> tuple[list[Dataset], list[Any]]:
    """(declared datasets, the domains' own Dagster objects) found at module level, each once."""
    datasets: dict[int, Dataset] = {}
    extras: dict[int, Any] = {}
    for module in domain_modules(package):
        for value in vars(module).values():
            if isinstance(value, Dataset):
                datasets.setdefault(id(value), value)
            elif isinstance(value, DAGSTER_OBJECTS):
                extras.setdefault(id(value), value)
    return list(datasets.values()), list(extras.values())


def _package() -> ModuleType:
    return importlib.import_module(__name__.rpartition(".")[0])


def build_definitions(**kwargs: Any) -> dg.Definitions:
    """The code location (kwargs: `executor`, `settings`, `config_file`; see lib.definitions.definitions_from)."""
    datasets, extras = discover(_package())
    return definitions_from(datasets, extras, **kwargs)


def build_resources(config_file: str | None = None) -> dict[str, Any]:
    """The resources every dataset needs, reading settings from `config_file` (for tests and scripts)."""
    return resources_for(discover(_package())[0], config_file)


defs = build_definitions()
