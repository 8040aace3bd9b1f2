"""The README stays one screen and its Layout section matches the tree: every package and top-level module of
consoleme_assets/ is named there, every name there exists, and its list of domains is the domains the code
location discovers."""

import re
from pathlib import Path

import consoleme_assets
from consoleme_assets.definitions import NOT_DOMAINS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PACKAGE = Path(consoleme_assets.__file__).parent


def layout_section() -> str:
    return README.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_readme_is_one_screen():
    assert len(README.splitlines()) <= 150


def test_layout_names_every_package_and_nothing_else():
    section = layout_section().split("Tests in `consoleme_assets_tests/`", 1)[0]
    named = set(re.findall(r"`([a-z_]+)/`", section)) - {"consoleme_assets"}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert named == packages, {"missing from the README": packages - named, "not in the tree": named - packages}
    top_level = {p.name for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert all(f"`{name}`" in section for name in top_level), top_level


def test_layout_lists_exactly_the_discovered_domains():
    line = next(p for p in layout_section().split("\n- ") if p.startswith("One folder per domain"))
    listed = set(re.findall(r"`([a-z_]+)/`", line))
    domains = {p.name for p in PACKAGE.iterdir() if (p / "datasets.py").exists() and p.name not in NOT_DOMAINS}
    assert listed == domains


def test_every_docs_link_resolves():
    for text_file in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text_file.read_text()):
            assert (text_file.parent / target).exists(), f"{text_file.relative_to(ROOT)} links to missing {target}"
