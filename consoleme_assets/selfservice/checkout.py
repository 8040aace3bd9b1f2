"""A template repository's local git checkout (`local_path`): its tracked files and commit, read with the git
CLI. Nothing is cloned or pulled here; keeping the checkout current is the deployment's job (cron, sidecar)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..settings.selfservice import TemplateRepository


class CheckoutError(RuntimeError):
    """A configured repository cannot be read; the message names it and its path."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    commit: str
    files: list[str]  # tracked files, POSIX paths relative to the top


def _git(path: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(
            (proc.stderr or proc.stdout).strip().splitlines()[-1]
            if (proc.stderr or proc.stdout)
            else f"git {args[0]} exited {proc.returncode}"
        )
    return proc.stdout


def read_checkout(repository: TemplateRepository) -> Checkout:
    where = f"cache_resource_templates.repositories[{repository.name}]"
    if repository.type != "git":
        raise CheckoutError(f"{where}: type {repository.type!r} is not supported (only git)")
    if not repository.local_path:
        raise CheckoutError(
            f"{where}: no local_path; consoleme-assets reads a local checkout of "
            f"{repository.repo_url or 'the repository'} and does not clone it"
        )
    path = Path(repository.local_path).expanduser()
    if not path.is_dir():
        raise CheckoutError(f"{where}: local_path {path} is not a directory")
    try:
        top = Path(_git(path, "rev-parse", "--show-toplevel").strip())
        commit = _git(top, "rev-parse", "HEAD").strip()
        files = [f for f in _git(top, "ls-files", "-z").split("\0") if f]
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        raise CheckoutError(f"{where}: local_path {path} is not a readable git checkout: {exc}") from None
    return Checkout(top, commit, files)
