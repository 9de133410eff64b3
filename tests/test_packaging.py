"""The package as a user gets it: `python -m build` makes an sdist and a wheel that carry the
licence and the package data, and the wheel installed into a fresh venv runs `keldysh-run`
from a directory outside the source tree (no import from the checkout)."""
from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("keldysh", "solvers")
# What a build does not need (and the venv, outputs and caches of this checkout).
_IGNORE = shutil.ignore_patterns(".git", ".venv", "out", "build", "dist", "*.egg-info",
                                 "__pycache__", ".pytest_cache", "*.h5", "*.h5.tmp-*", "figures")

pytest.importorskip("build", reason="the test extra installs `build`")


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    # mpi4py looks for libmpi under its venv's prefix; the `mpi` extra's MPICH wheel put it
    # under this test venv's (a system MPI needs nothing: the loader finds it)
    if "MPI4PY_LIBMPI" not in env and list((Path(sys.prefix) / "lib").glob("libmpi.so*")):
        env["MPI4PY_LIBMPI"] = str(Path(sys.prefix) / "lib")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, **kwargs)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """sdist and wheel of a copy of the working tree (the build writes build/ and
    *.egg-info next to the sources: never into the shared checkout)."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=_IGNORE)
    dist = base / "dist"
    # the default: an sdist, then the wheel built from the unpacked sdist (so the sdist must
    # be complete); build requirements come from the package index, as for a user
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)], cwd=base)
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    return src, wheels[0]


def test_wheel_contents(built):
    src, wheel = built
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        assert f"{dist_info}/licenses/LICENSE" in names
        assert zf.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta["Version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert "keldysh-run" in entry_points and "keldysh-plot" in entry_points
    # every module of the packages, and every file the package-data globs match
    expected = {p.relative_to(src).as_posix() for pkg in PACKAGES for p in (src / pkg).rglob("*.py")}
    package_data = tomllib.loads((src / "pyproject.toml").read_text()).get("tool", {}) \
        .get("setuptools", {}).get("package-data", {})
    for pkg, patterns in package_data.items():
        for pattern in patterns:
            expected |= {p.relative_to(src).as_posix() for p in (src / pkg).glob(pattern) if p.is_file()}
    assert {f"{pkg}/__init__.py" for pkg in PACKAGES} <= expected
    assert expected - names == set()


def test_wheel_installs_into_a_fresh_venv_and_runs(built, tmp_path):
    _, wheel = built
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())
    # The dependencies (numpy, scipy, numba, h5py, ...) come from this test venv, appended to
    # the new venv's path (its own site-packages, holding the wheel, comes first); the
    # editable install of the checkout is not seen (.pth files of that directory are not run).
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_test_venv_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", "-q", str(wheel)])

    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "runs" / "quickstart.toml", work / "quickstart.toml")
    where = _run([str(python), "-c", "import keldysh, solvers; print(keldysh.__file__); "
                  "print(solvers.__file__)"], cwd=work).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    done = _run([str(venv / "bin" / "keldysh-run"), "--check", "quickstart.toml"], cwd=work)
    assert "phase-diagram" in done.stdout  # the resolved config of the copied file
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in work.iterdir()) == ["quickstart.toml"]  # --check writes nothing


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_citation_cff_matches_the_project():
    """CITATION.cff: the engine at the pyproject version, its licence, and the paper
    (checked line by line: PyYAML is not a dependency; parsed in full when it is installed)."""
    text = (ROOT / "CITATION.cff").read_text()
    top = dict(line.split(":", 1) for line in text.splitlines()
               if line and not line[0].isspace() and not line.startswith("#") and ":" in line)
    top = {key: value.strip().strip('"') for key, value in top.items()}
    assert top["cff-version"] == "1.2.0" and top["type"] == "software"
    assert top["version"] == _project_version()
    assert top["license"] == "BSD-3-Clause"
    assert "10.1103/PhysRevB.100.060508" in text and "arXiv:1810.12309" in text
    assert "\t" not in text  # YAML forbids tabs in indentation
    try:
        import yaml
    except ImportError:
        return
    cff = yaml.safe_load(text)
    assert cff["version"] == _project_version()
    (paper,) = cff["references"]
    assert [a["family-names"] for a in paper["authors"]] == ["Hart", "Goldstein", "Chamon", "Castelnovo"]
    assert (paper["volume"], paper["year"]) == (100, 2019)


def test_changelog_has_the_project_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert f"## [{_project_version()}] - " in text
