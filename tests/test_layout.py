"""The architecture of the tree: imports go app -> solvers -> keldysh, never back.

Every import statement of every module (also those inside functions) is read with ``ast``
and resolved to an absolute module name (relative imports included):

* ``keldysh`` (pure physics) imports neither ``solvers`` nor ``solvers.app``;
* the solvers core (``solvers`` outside ``solvers/app``) never imports ``solvers.app``; the
  one exception is ``solvers/__main__.py``, the ``python -m solvers`` launcher of the CLI;
* inside the application layer, ``config`` imports none of ``tasks``, ``cli``, ``plot`` and
  ``tasks`` neither ``cli`` nor ``plot``.

And the production code has no test hook: nothing under ``keldysh/`` or ``solvers/``
mentions the fault-injection variable of the MPI tests.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"solvers.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (``from a import b`` gives a and a.b)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def offending(package: str, forbidden: tuple[str, ...], skip=lambda name: False) -> list[str]:
    out = []
    for name, path in modules(package).items():
        if skip(name):
            continue
        for target in sorted(imports(path)):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                out.append(f"{name} imports {target}")
    return out


def test_the_import_reader_sees_relative_and_nested_imports(tmp_path, monkeypatch):
    package = tmp_path / "solvers" / "app"
    package.mkdir(parents=True)
    probe = package / "probe.py"
    probe.write_text("from .config import Config\nfrom ..parallel import rank_of\n"
                     "def f():\n    import keldysh.greens as g\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert {"solvers.app.config", "solvers.app.config.Config", "solvers.parallel",
            "solvers.parallel.rank_of", "keldysh.greens"} <= imports(probe)


def test_keldysh_never_imports_solvers():
    assert modules("keldysh"), "no modules found"
    assert offending("keldysh", ("solvers",)) == []


def test_solvers_core_never_imports_the_app_layer():
    assert "solvers.gap" in modules("solvers") and "solvers.app.cli" in modules("solvers")
    assert offending("solvers", ("solvers.app",),
                     skip=lambda name: name.startswith("solvers.app") or name in LAUNCHERS) == []


@pytest.mark.parametrize("layer, forbidden", [
    ("solvers.app.config", ("solvers.app.tasks", "solvers.app.cli", "solvers.app.plot")),
    ("solvers.app.tasks", ("solvers.app.cli", "solvers.app.plot")),
])
def test_app_layer_imports_only_downwards(layer, forbidden):
    assert offending("solvers", forbidden, skip=lambda name: not name.startswith(layer)) == []


def test_no_test_hook_in_the_production_code():
    for package in ("keldysh", "solvers"):
        for name, path in modules(package).items():
            assert "KELDYSH_FAIL_RANK" not in path.read_text(), name
