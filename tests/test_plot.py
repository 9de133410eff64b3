"""keldysh-plot: one non-empty PNG per tiny results file of every task."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keldysh import io
from solvers.app import plot
from solvers.app.config import Config
from solvers.app.tasks import TASKS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TINY = {
    "eta-map": {"task": "eta-map", "model": {}, "scan": {"parameter": "delta", "values": [0.25, 5.0]},
                "numerics": {"grid_points": 24}},
    "phase-diagram": {
        "task": "phase-diagram", "model": {"delta": 5.0},
        "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4},
        "scan": {"parameter": "Omega_over_Gamma", "values": [0.5, 5.0, 50.0]},
        "numerics": {"mesh": "exact-dos", "n_resonance": 16, "n_band": 8, "nu_per_panel": 4,
                     "v_values": [0.0, 1.0]},
    },
    "phase-diagram-mu2": {
        "task": "phase-diagram", "model": {"delta": 0.25},
        "baths": {"kind": "quasi_thermal", "Gamma12": 1e-3},
        "scan": {"parameter": "mu2", "values": [0.15, 0.3]},
        "numerics": {"mesh": "exact-dos", "n_resonance": 16, "n_band": 8, "nu_per_panel": 4,
                     "routes": ["paper", "born_markov"], "v_values": [0.5]},
    },
    "susceptibility": {
        "task": "susceptibility", "model": {"delta": 5.0}, "drive": {"Omega": 1e-3},
        "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4},
        "numerics": {"nu_per_panel": 4, "routes": ["paper", "born_markov"]},
    },
    "gap": {
        "task": "gap", "model": {"delta": 1.0},
        "baths": {"kind": "quasi_thermal", "Gamma12": 1e-3, "mu2": 0.56},
        "interaction": {"V": 0.0, "Vprime": 1.0},
        "numerics": {"n_resonance": 40, "n_band": 20},
    },
    "spectral": {
        "task": "spectral", "model": {"delta": 5.0}, "drive": {"Omega": 5e-3},
        "baths": {"Gamma1": 5e-4, "Gamma2": 5e-4},
        "numerics": {"n_cut": 12, "n_omega": 16},
    },
}


def _write(directory: Path, name: str, raw: dict, finished: bool = True) -> Path:
    cfg = Config.from_dict(raw)
    output = TASKS[cfg.task](cfg)
    path = directory / f"{name}.h5"
    io.write_results(path, task=cfg.task, config=cfg.resolved(), results=output["results"],
                     mesh=output.get("mesh"), grids=output.get("grids"), history=output.get("history"),
                     checkpoint=output.get("checkpoint"), finished=finished)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    return {name: _write(directory, name, raw) for name, raw in TINY.items()}


def _assert_png(path: Path) -> None:
    assert path.suffix == ".png" and path.exists()
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"


def test_every_task_has_a_plot():
    assert set(plot.PLOTTERS) == set(TASKS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_plot_writes_a_png(files, name, tmp_path, capsys):
    status = plot.main([str(files[name]), "--out", str(tmp_path / "figs")])
    assert status == 0
    printed = capsys.readouterr()
    paths = [Path(line) for line in printed.out.splitlines()]
    # one figure per task; Omega scans add the F_+ kernels figure, spectral the population map
    assert len(paths) == (2 if name in ("phase-diagram", "spectral") else 1) and printed.err == ""
    for path in paths:
        _assert_png(path)
        assert path.parent == tmp_path / "figs"
        assert path.name.startswith(name)


def test_unfinished_scan_checkpoint_plots(tmp_path):
    """A checkpoint (NaN rows for the missing points) plots too: a quick look at a long run."""
    from solvers.app.tasks import Interrupted, ScanHooks

    cfg = Config.from_dict(TINY["phase-diagram"])
    with pytest.raises(Interrupted) as stop:  # stopped after the first point, as on SIGTERM
        TASKS[cfg.task](cfg, hooks=ScanHooks(should_stop=lambda: True))
    out = stop.value.output
    completed = out["history"]["completed"]
    assert completed.tolist() == [True] + [False] * (completed.size - 1)
    path = tmp_path / "partial.h5"
    io.write_results(path, task=cfg.task, config=cfg.resolved(), results=out["results"], grids=out["grids"],
                     history=out["history"], checkpoint=out["checkpoint"], finished=False)
    pngs = plot.plot_file(path)
    assert pngs
    for png in pngs:
        _assert_png(png)


def test_console_script_prints_only_paths_and_fails_cleanly(files, tmp_path):
    script = Path(sys.executable).parent / "keldysh-plot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "solvers.app.plot"]
    done = subprocess.run([*command, str(files["eta-map"]), "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    _assert_png(Path(line))
    bogus = tmp_path / "bogus.h5"
    bogus.write_bytes(b"not hdf5")
    done = subprocess.run([*command, str(bogus)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("keldysh-plot: error:")


PAPER_CONFIG = {
    "task": "phase-diagram", "description": "Fig. 3a: V_c vs Omega/Gamma, delta = 5t, Gamma = 1e-3 t",
    "model": {"delta": 5.0, "t": 1.0}, "drive": {"omega0": 5.1, "pattern": "valley"},
    "baths": {"kind": "paper", "Gamma1": 5e-4, "Gamma2": 5e-4, "mu": -5e-4, "temperature": 0.0},
    "numerics": {"mesh": "exact-dos-shell"},
}


def test_title_does_not_repeat_what_the_description_gives():
    head, body = plot._title(PAPER_CONFIG).split("\n")
    assert head == "phase-diagram: " + PAPER_CONFIG["description"]
    assert not body.startswith("δ") and "Γ1" not in body  # given by "delta = 5t", "Gamma = 1e-3 t"
    assert "ω0 − δ = 0.1 t" in body and "μ = -0.0005 t" in body
    unequal = {**PAPER_CONFIG, "baths": {**PAPER_CONFIG["baths"], "Gamma2": 1e-3}}
    assert "Γ1 = 0.0005 t, Γ2 = 0.001 t" in plot._title(unequal)  # "Gamma = ..." does not say the split
    plain = {**PAPER_CONFIG, "description": "quick start"}
    assert "δ = 5 t" in plot._title(plain) and "Γ1 = 0.0005 t" in plot._title(plain)
    gap = {"task": "gap", "description": "delta = t, mu2 = 0.56 t, V = 0, V' = t", "model": {"delta": 1.0},
           "baths": {"kind": "quasi_thermal", "Gamma12": 1e-3, "mu": -5e-4, "mu2": 0.56, "reading": "lab"},
           "interaction": {"V": 0.0, "Vprime": 1.0, "phi": 0.0}}
    body = plot._title(gap).split("\n")[1]
    assert "V =" not in body and "|V'|" not in body and "μ2" not in body and "φ = 0" in body


def test_long_titles_are_wrapped_inside_the_figure(tmp_path):
    """Every line of a title (an unfinished scan's note included) stays inside the figure."""
    fig, _ = plot._figure(1, 1, size=(4.6, 4.2))
    title = plot._title({**PAPER_CONFIG, "description": "quick start"}) + "\n[unfinished: 1/40 points]"
    plot._save(fig, title, tmp_path, "t", "title")
    text = fig._suptitle
    box = text.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    assert text.get_text().count("\n") > title.count("\n")  # it had to wrap
    assert all(len(line) <= 30 for line in plot._wrap("ab, " * 50, 30).split("\n"))
