"""keldysh-run as a subprocess (``python -m solvers``): exit statuses, files, resume."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from keldysh import io
from solvers.app.config import load_config

REPO = Path(__file__).resolve().parents[1]
#: on PYTHONPATH, makes KELDYSH_FAIL_RANK=r fail rank r in its k loop (a test-only sitecustomize)
FAULTS = str(REPO / "tests" / "fault_injection")
TIMEOUT = 180

TINY_PHASE = """\
    task = "phase-diagram"
    [model]
    delta = 5.0
    [baths]
    Gamma1 = 5e-4
    Gamma2 = 5e-4
    [scan]
    parameter = "Omega_over_Gamma"
    values = [0.5, 5.0, 50.0]
    [numerics]
    mesh = "exact-dos"
    n_resonance = 16
    n_band = 8
    nu_per_panel = 4
    v_values = [0.0, 1.0]
"""

TINY_GAP = """\
    task = "gap"
    [model]
    delta = 1.0
    [baths]
    kind = "quasi_thermal"
    Gamma12 = 1e-3
    mu = -5e-4
    mu2 = 0.56
    [interaction]
    V = {V}
    Vprime = {Vprime}
    [numerics]
    n_resonance = 40
    n_band = 20
    route = "born_markov"
"""


def write_config(directory: Path, text: str, name: str = "tiny.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def keldysh_run(*args, cwd: Path, env=None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "KELDYSH_FAIL_RANK"}
    full_env.update({"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "solvers", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def assert_usage_error(done: subprocess.CompletedProcess, starts: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"keldysh-run: error: {starts}"), lines[0]
    assert done.stdout == ""


def assert_same_results(a: dict, b: dict, rtol: float = 0.0) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], dict):
            assert_same_results(a[key], b[key], rtol)
            continue
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.shape == y.shape, key
        if x.dtype.kind in "fc":
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0, equal_nan=True, err_msg=key)
        else:
            assert np.array_equal(x, y), key


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One uninterrupted tiny phase-diagram run, shared by the tests below."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    config = write_config(directory, TINY_PHASE)
    done = keldysh_run(config, "--output", "full.h5", cwd=directory)
    assert done.returncode == 0, done.stderr
    return config, directory / "full.h5", done


# ------------------------------------------------------------------- errors: status 2


@pytest.mark.parametrize("override, starts", [
    ("baths.Gamma1=-0.001", "baths.Gamma1: must be > 0 (got -0.001)"),
    ("numerics.nkk=4", "numerics.nkk: unknown key"),
    ("model.delta=true", "model.delta: must be a number > 0 (got true)"),
    ("scan.values=[1, 1]", "scan.values: must be strictly increasing or decreasing"),
])
def test_bad_config_exits_2_with_one_line_and_no_output(tmp_path, override, starts):
    config = write_config(tmp_path, TINY_PHASE)
    done = keldysh_run(config, "-o", override, "--output", "out/x.h5", cwd=tmp_path)
    assert_usage_error(done, starts)
    assert not (tmp_path / "out").exists()


def test_missing_and_invalid_config_files(tmp_path):
    assert_usage_error(keldysh_run("nope.toml", cwd=tmp_path), "nope.toml: no such config file")
    bad = write_config(tmp_path, "task = [\n", "bad.toml")
    assert_usage_error(keldysh_run(bad, cwd=tmp_path), f"{bad}: invalid TOML")
    done = keldysh_run(cwd=tmp_path)  # no config at all: argparse, still one error line
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("keldysh-run: error:")


def test_existing_output_is_not_touched_without_overwrite(tmp_path):
    config = write_config(tmp_path, TINY_PHASE)
    out = tmp_path / "exists.h5"
    out.write_bytes(b"precious")
    os.utime(out, (1_000_000_000, 1_000_000_000))
    done = keldysh_run(config, "--output", out, cwd=tmp_path)
    assert_usage_error(done, f"--output {out}: exists (pass --overwrite")
    assert out.read_bytes() == b"precious"
    assert out.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.h5", "tiny.toml"]


def test_unusable_resume_files_exit_2_untouched(tmp_path, tiny_run):
    config = write_config(tmp_path, TINY_PHASE)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(os.urandom(2048))
    before = corrupt.read_bytes()
    done = keldysh_run(config, "--resume", corrupt, "--output", "new.h5", cwd=tmp_path)
    assert_usage_error(done, f"--resume {corrupt}: cannot resume from it:")
    assert corrupt.read_bytes() == before
    assert not (tmp_path / "new.h5").exists()

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    done = keldysh_run(config, "--resume", foreign, cwd=tmp_path)
    assert_usage_error(done, f"--resume {foreign}: cannot resume from it:")
    assert "not a keldysh results file" in done.stderr

    done = keldysh_run(config, "--resume", tmp_path / "missing.h5", cwd=tmp_path)
    assert_usage_error(done, f"--resume {tmp_path / 'missing.h5'}: no such file")

    # a results file of another config: the message names the first differing key
    _, full, _ = tiny_run
    other = tmp_path / "other.h5"
    other.write_bytes(full.read_bytes())
    done = keldysh_run(config, "-o", "numerics.n_band=10", "--resume", other, cwd=tmp_path)
    assert_usage_error(done, f"--resume {other}: its config differs at numerics.n_band (file: 8, now: 10)")
    assert other.read_bytes() == full.read_bytes()


def test_check_prints_the_resolved_config(tmp_path):
    config = write_config(tmp_path, TINY_PHASE)
    done = keldysh_run(config, "--check", "-o", "model.delta=4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = json.loads(done.stdout)
    assert resolved == load_config(config, ["model.delta=4"]).resolved()
    assert resolved["drive"]["omega0"] == pytest.approx(4.1)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ good runs


def test_tiny_phase_diagram_writes_a_finished_self_describing_file(tiny_run):
    config, full, done = tiny_run
    data = io.load(full)
    assert data.finished is True
    assert data.task == "phase-diagram"
    assert data.config == load_config(config, output="full.h5").resolved()
    assert data.attrs["n_ranks"] == 1
    assert data.attrs["argv"][-2:] == ["--output", "full.h5"]
    assert data.checkpoint is None
    res = data.results
    n_boundaries = res["paper"]["eq14"]["V_c"].shape[-1]  # one boundary axis for all routes
    for route in ("eq14", "eq17", "paper", "born_markov"):
        assert res["paper"][route]["V_c"].shape == (3, 2, n_boundaries), route
    full = res["full"]["born_markov"]
    assert full["V_c"].shape == full["error"].shape == full["jump"].shape == (3, 2, n_boundaries)
    assert full["counts"].shape == (3, 2, n_boundaries + 1) and full["certified"].shape == (3, 2)
    assert res["chi0"]["born_markov"].shape == (3, 2, 2) and res["chi0"]["born_markov"].dtype.kind == "c"
    np.testing.assert_allclose(res["parameters"]["Omega"], np.array([0.5, 5.0, 50.0]) * 1e-3)
    assert np.all(data.history["completed"])
    assert data.history["summary"]["n_couplings"] == 3 * 2 * 6  # 6 (criterion, route) pairs
    np.testing.assert_array_equal(data.grids["scan_values"], [0.5, 5.0, 50.0])
    # the paper criterion at |V'| = 0: V_c = ±1/F_+ (Eq. 16), both branches, symmetric
    eq14 = res["paper"]["eq14"]["V_c"]
    assert np.allclose(eq14[:, 0, 0], -eq14[:, 0, 1]) and np.all(np.isnan(eq14[:, :, 2:]))
    assert "finished in" in done.stderr


def test_resume_after_an_interruption_gives_identical_results(tmp_path, tiny_run):
    """Simulated interruption: a checkpoint with only the first scan point done (as the scan
    writes after each point); --resume must recompute the rest and keep the first as stored."""
    config, full, _ = tiny_run
    data = io.load(full)
    completed = np.array([True, False, False])

    def write_checkpoint(path, results):
        io.write_results(path, task=data.task, config=data.config, results=results, mesh=data.mesh,
                         grids=data.grids, history={**data.history, "completed": completed},
                         checkpoint={"completed": completed, "n_completed": 1, "n_scan": 3},
                         finished=False)

    def copy(tree):
        return {k: copy(v) if isinstance(v, dict) else np.array(v, copy=True) for k, v in tree.items()}

    partial = copy(data.results)  # points 1 and 2 are recomputed: only the flags say which
    out = tmp_path / "resumed.h5"
    write_checkpoint(out, partial)
    done = keldysh_run(config, "--output", out, "--resume", cwd=tmp_path)  # --resume alone: the output
    assert done.returncode == 0, done.stderr
    assert "resuming with 1 of 3 scan points done" in done.stderr
    resumed = io.load(out)
    assert resumed.finished is True and resumed.checkpoint is None
    assert_same_results(resumed.results, data.results)  # bit for bit
    assert resumed.config == data.config | {"output": resumed.config["output"]}

    # completed points really come from the file: a marker survives the resume
    marked = copy(partial)
    marked["paper"]["eq14"]["V_c"][0, :, 0] = 12345.0
    elsewhere = tmp_path / "marked.h5"
    write_checkpoint(elsewhere, marked)
    done = keldysh_run(config, "--resume", elsewhere, "--output", tmp_path / "from_marked.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = io.load(tmp_path / "from_marked.h5")
    assert np.all(again.results["paper"]["eq14"]["V_c"][0, :, 0] == 12345.0)
    np.testing.assert_array_equal(again.results["paper"]["eq14"]["V_c"][1:], data.results["paper"]["eq14"]["V_c"][1:])


def test_resume_of_a_finished_file_does_nothing(tmp_path, tiny_run):
    config, full, _ = tiny_run
    out = tmp_path / "done.h5"
    out.write_bytes(full.read_bytes())
    os.utime(out, (1_000_000_000, 1_000_000_000))
    done = keldysh_run(config, "--output", out, "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "already finished; nothing to do" in done.stderr
    assert out.stat().st_mtime == 1_000_000_000


def test_overwrite_replaces_the_output(tmp_path):
    config = write_config(tmp_path, TINY_PHASE)
    out = tmp_path / "x.h5"
    io.write_results(out, task="phase-diagram", config={"old": True}, results={"old": 1.0})
    done = keldysh_run(config, "-o", "scan.values=[5.0]", "--output", out, "--overwrite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = io.load(out)
    assert data.finished and data.results["paper"]["eq14"]["V_c"].shape[:2] == (1, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml", "x.h5"]  # no lock or temp file left

    # --overwrite replaces results files only: not another file, not the config itself
    for victim in (tmp_path / "notes.txt", config):
        if victim != config:
            victim.write_text("precious")
        before = victim.read_bytes()
        done = keldysh_run(config, "--output", victim, "--overwrite", cwd=tmp_path)
        assert_usage_error(done, f"--output {victim}: ")
        assert victim.read_bytes() == before


def test_gap_exit_status_0_when_converged_3_when_not(tmp_path):
    good = write_config(tmp_path, TINY_GAP.format(V=0.0, Vprime=1.0), "good.toml")
    done = keldysh_run(good, "--output", "good.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = io.load(tmp_path / "good.h5")
    assert data.finished and data.results["converged"] is True
    assert data.results["residual"] < 1e-10 and data.results["abs_delta_plus"] > 0
    assert data.history["residual"].size > 0

    # |V| > |V'|: the normal state is stable, no nonzero solution (spec §6)
    bad = write_config(tmp_path, TINY_GAP.format(V=0.5, Vprime=0.1), "bad.toml")
    done = keldysh_run(bad, "--output", "bad.h5", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    data = io.load(tmp_path / "bad.h5")
    assert data.finished is True
    assert data.results["converged"] is False
    assert "no nonzero solution" in data.results["reason"]
    assert data.history["attempts"]["residual"].size >= 5
    assert "exit status 3" in done.stderr


def test_failure_exits_1_and_names_the_rank(tmp_path):
    config = write_config(tmp_path, TINY_PHASE)
    done = keldysh_run(config, "--output", "x.h5", cwd=tmp_path, env={"KELDYSH_FAIL_RANK": "0", "PYTHONPATH": FAULTS})
    assert done.returncode == 1, done.stderr
    assert "rank 0 of 1 failed: RuntimeError: injected failure on rank 0" in done.stderr
    assert not (tmp_path / "x.h5").exists()


def test_other_tasks_run_serially(tmp_path):
    eta = write_config(tmp_path, """\
        task = "eta-map"
        [model]
        delta = 1.0
        [numerics]
        grid_points = 16
    """, "eta.toml")
    done = keldysh_run(eta, cwd=tmp_path)  # default output: out/<stem>.h5, directory created
    assert done.returncode == 0, done.stderr
    data = io.load(tmp_path / "out" / "eta.h5")
    assert data.results["eta"].shape == (1, 16, 16)
    assert np.all(np.abs(data.results["eta"]) <= 1 + 1e-12)
    assert data.results["eta_at_K_plus"][0] == pytest.approx(1.0)

    susc = write_config(tmp_path, """\
        task = "susceptibility"
        [model]
        delta = 5.0
        [drive]
        Omega = 1e-3
        [baths]
        Gamma1 = 5e-4
        Gamma2 = 5e-4
        [numerics]
        routes = ["paper", "born_markov"]
        nu_per_panel = 4
    """, "susc.toml")
    done = keldysh_run(susc, "--output", "susc.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = io.load(tmp_path / "susc.h5")
    assert data.results["born_markov"]["chi_plus"].shape == data.grids["nu"].shape
    assert data.mesh["kind"] == "exact-dos-shell"
    assert data.results["paper"]["chi_plus_0"].imag == 0.0
    assert "F_plus_eq14" in data.results
