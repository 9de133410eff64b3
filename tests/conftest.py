"""Shared fixtures. Markers (slow, mpi, slurm) are declared in pyproject.toml."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """Directory of the running interpreter (the venv's bin/, where mpiexec and scripts live).

    Not resolved: in a venv, sys.executable is a symlink into the base Python install.
    """
    return Path(sys.executable).parent


@pytest.fixture(scope="session")
def mpiexec(venv_bin: Path) -> str:
    """Path of mpiexec: the one next to sys.executable (mpich wheel), else the one on PATH."""
    candidate = venv_bin / "mpiexec"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("mpiexec")
    if found is None:
        pytest.skip(
            f"no mpiexec next to {sys.executable} nor on PATH "
            "(install the mpi extra: pip install -e '.[mpi]')"
        )
    return found


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside its own empty temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
