"""Provenance recorded in every results file: the installed package version and ``git describe``."""
from __future__ import annotations

import functools
import logging
import subprocess
from importlib import metadata
from pathlib import Path

logger = logging.getLogger("keldysh.io")  # the name of the module before the split

_DISTRIBUTION = "keldysh-engine"


def package_version() -> str:
    """Installed version of keldysh-engine, or ``"0+unknown"`` when not installed."""
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def git_describe() -> str:
    """``git describe --always --dirty`` of the source tree this package was imported from.

    Cached for the process: it describes the code that was loaded, even if the work tree
    changes while a long run writes checkpoints. ``"unknown"`` when the package does not sit
    at the top of a git work tree (e.g. installed into site-packages) or git fails; never
    raises.
    """
    package_dir = Path(__file__).resolve().parents[1]  # keldysh/ (this file is keldysh/io/...)
    try:
        top = _git(package_dir, "rev-parse", "--show-toplevel")
        if Path(top).resolve() != package_dir.parent:
            return "unknown"
        return _git(package_dir, "describe", "--always", "--dirty") or "unknown"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.debug("git describe failed: %s", exc)
        return "unknown"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()
