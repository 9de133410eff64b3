"""MPI runs of keldysh-run: same answer as serial, loud failure, SIGTERM -> checkpoint -> resume.

Every run is ``mpiexec -n N python -m mpi4py -m solvers CONFIG ...`` with one numba and one
BLAS thread per rank.  The k mesh is a 10 x 10 Monkhorst-Pack mesh restricted to K+: 50
points, which 3 ranks cannot split evenly.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from keldysh import io

pytestmark = pytest.mark.mpi

TIMEOUT = 240
#: on PYTHONPATH, makes KELDYSH_FAIL_RANK=r fail rank r in its k loop (a test-only sitecustomize)
FAULTS = str(Path(__file__).resolve().parent / "fault_injection")

PHASE = """\
    task = "phase-diagram"
    [model]
    delta = 1.0
    [drive]
    omega0 = 1.1
    [baths]
    Gamma1 = 5e-3
    Gamma2 = 5e-3
    [scan]
    parameter = "Omega_over_Gamma"
    values = {values}
    [numerics]
    mesh = "monkhorst-pack"
    nk = 10
    routes = ["paper", "born_markov", "keldysh"]
    nu_per_panel = 4
    v_values = [0.0, 3.0]
    n_per_panel = 8
"""

SUSCEPTIBILITY = """\
    task = "susceptibility"
    [model]
    delta = 1.0
    [drive]
    omega0 = 1.1
    Omega = 2e-2
    pattern = "dichroic"
    [baths]
    Gamma1 = 5e-3
    Gamma2 = 5e-3
    [numerics]
    mesh = "monkhorst-pack"
    nk = 10
    routes = ["paper", "born_markov", "keldysh", "poles"]
    nu_per_panel = 4
    n_per_panel = 8
"""

def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KELDYSH_FAIL_RANK"}
    env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **extra)
    return env


def _command(mpiexec: str, n: int, config: Path, output: Path, *extra) -> list[str]:
    return [mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py", "-m", "solvers", str(config),
            "--output", str(output), *map(str, extra)]


def _run(mpiexec, n, config, output, *extra, env=None, timeout=TIMEOUT):
    return subprocess.run(_command(mpiexec, n, config, output, *extra), env=env or _env(),
                          capture_output=True, text=True, timeout=timeout, cwd=config.parent)


def _write(directory: Path, text: str, name: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def assert_results_close(a: dict, b: dict, rtol: float, where: str = "") -> None:
    keys = sorted(a)
    assert keys == sorted(b), where
    for key in keys:
        here = f"{where}/{key}"
        if isinstance(a[key], dict):
            assert_results_close(a[key], b[key], rtol, here)
            continue
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.shape == y.shape, here
        if x.dtype.kind not in "fc":
            assert np.array_equal(x, y), here
            continue
        assert np.array_equal(np.isnan(x), np.isnan(y)), f"{here}: NaN pattern differs"
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=rtol, atol=0, err_msg=here)


@pytest.fixture(scope="module")
def runs(mpiexec, tmp_path_factory):
    """Serial, 2-rank and 3-rank runs of a tiny phase diagram and a tiny susceptibility."""
    directory = tmp_path_factory.mktemp("mpi")
    configs = {
        "phase": _write(directory, PHASE.format(values="[0.5, 5.0, 50.0]"), "phase.toml"),
        "susceptibility": _write(directory, SUSCEPTIBILITY, "susceptibility.toml"),
    }
    out = {}
    for name, config in configs.items():
        for n in (1, 2, 3):
            output = directory / f"{name}-{n}.h5"
            t0 = time.monotonic()
            done = _run(mpiexec, n, config, output)
            assert done.returncode == 0, f"{name} on {n} ranks:\n{done.stderr}"
            out[name, n] = (io.load(output), time.monotonic() - t0, done)
    return out


@pytest.mark.parametrize("name", ["phase", "susceptibility"])
@pytest.mark.parametrize("n", [2, 3])
def test_parallel_run_equals_serial(runs, name, n):
    serial, _, _ = runs[name, 1]
    parallel, _, done = runs[name, n]
    assert parallel.finished and parallel.attrs["n_ranks"] == n
    assert serial.attrs["n_ranks"] == 1
    assert parallel.config == serial.config | {"output": parallel.config["output"]}
    assert_results_close(serial.results, parallel.results, rtol=1e-12)
    # only rank 0 logs at INFO (the others only warn and err)
    assert "rank 0 INFO" in done.stderr
    assert f"rank {n - 1} INFO" not in done.stderr and "rank 1 INFO" not in done.stderr


def test_mpi_results_are_not_trivial(runs):
    """The comparisons above compare real numbers: both criteria found couplings."""
    res = runs["phase", 1][0].results
    paper = res["paper"]["keldysh"]["V_c"]
    assert paper.shape[:2] == (3, 2) and np.all(np.isfinite(paper[:, :, :2]))
    assert np.isfinite(res["full"]["born_markov"]["V_c"]).any() and np.isfinite(res["full"]["keldysh"]["V_c"]).any()
    # the k sum is really split: 50 samples in blocks of 16, at least one block per rank
    from solvers.stability.routes import block_size
    assert block_size(50) == 16
    assert runs["phase", 1][0].mesh["n_cells"] == 100 and runs["phase", 1][0].mesh["points"].shape == (50, 2)
    susc = runs["susceptibility", 1][0].results
    assert susc["keldysh"]["chi_plus"].shape == runs["susceptibility", 1][0].grids["nu"].shape
    assert np.all(susc["keldysh"]["chi_plus"] != 0)


def test_refined_polar_mesh_parallel_equals_serial(mpiexec, tmp_path):
    """The resonance-refined polar k mesh (dichroic drive) shards like the uniform one."""
    config = _write(tmp_path, SUSCEPTIBILITY, "susceptibility.toml")
    refined = ["-o", "numerics.mesh=refined-polar", "-o", "numerics.refine_level=2"]
    results = {}
    for n in (1, 3):
        done = _run(mpiexec, n, config, tmp_path / f"refined-{n}.h5", *refined)
        assert done.returncode == 0, done.stderr
        results[n] = io.load(tmp_path / f"refined-{n}.h5")
    assert results[1].mesh["kind"] == "refined-polar" and results[1].mesh["points"].shape == (192, 2)
    assert_results_close(results[1].results, results[3].results, rtol=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_exception_on_one_rank_ends_the_job(mpiexec, tmp_path, n):
    config = _write(tmp_path, PHASE.format(values="[0.5, 5.0, 50.0]"), "phase.toml")
    output = tmp_path / "fail.h5"
    t0 = time.monotonic()
    done = _run(mpiexec, n, config, output, env=_env(KELDYSH_FAIL_RANK="1", PYTHONPATH=FAULTS), timeout=60)
    elapsed = time.monotonic() - t0
    assert done.returncode != 0
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert f"rank 1 of {n} failed: RuntimeError: injected failure on rank 1" in done.stderr
    assert "in its k loop at k = (" in done.stderr  # names the k point
    assert not output.exists()


def _start_until_checkpoint(mpiexec, config, output, cwd, **popen):
    """Start a 2-rank scan and return once its first checkpoint is on disk."""
    proc = subprocess.Popen(_command(mpiexec, 2, config, output), env=_env(), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    deadline = time.monotonic() + 120
    try:
        while not output.exists():  # the first checkpoint: the scan is under way
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        raise
    return proc


def test_sigterm_checkpoints_exits_75_and_resume_completes(mpiexec, tmp_path):
    values = "[0.3, 0.6, 1.2, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0]"
    config = _write(tmp_path, PHASE.format(values=values), "phase.toml")
    reference = tmp_path / "reference.h5"
    done = _run(mpiexec, 2, config, reference)
    assert done.returncode == 0, done.stderr

    output = tmp_path / "interrupted.h5"
    proc = _start_until_checkpoint(mpiexec, config, output, tmp_path)
    try:
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # to mpiexec, as SLURM / long.sbatch do; it forwards
        stdout, stderr = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 75, stderr
    assert elapsed < 10, f"took {elapsed:.1f} s to stop"
    assert "continue with --resume" in stderr
    partial = io.load(output)
    assert partial.finished is False
    done_points = int(partial.checkpoint["n_completed"])
    print(f"stopped after {done_points} of 10 points, {elapsed:.2f} s after SIGTERM")
    assert 1 <= done_points < 10
    assert np.all(partial.checkpoint["completed"][:done_points])
    assert not np.any(partial.checkpoint["completed"][done_points:])
    assert np.all(np.isnan(partial.results["paper"]["born_markov"]["V_c"][done_points:]))

    done = _run(mpiexec, 2, config, output, "--resume")
    assert done.returncode == 0, done.stderr
    assert f"resuming with {done_points} of 10 scan points done" in done.stderr
    resumed, full = io.load(output), io.load(reference)
    assert resumed.finished is True
    assert_results_close(full.results, resumed.results, rtol=1e-12)


def _wait_until_gone(lock: Path, timeout: float = 30.0) -> None:
    """SIGKILL is delivered to every rank at once, but a rank dies (or becomes a zombie, its
    launcher killed too) a moment later: wait until the lock's writer no longer runs."""
    import json

    from solvers.app.cli import _lock_is_stale

    if not lock.exists():
        return
    info = json.loads(lock.read_text() or "{}")
    deadline = time.monotonic() + timeout
    while not _lock_is_stale(info) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_sigkill_then_resume_gives_identical_results(mpiexec, tmp_path):
    """A job killed without warning (SIGKILL to the whole process group: no handler runs)
    leaves its last checkpoint intact; --resume ends with results identical to an
    uninterrupted run (same rank count: same reduction order, so bitwise)."""
    values = "[0.3, 0.6, 1.2, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0]"
    config = _write(tmp_path, PHASE.format(values=values), "phase.toml")
    reference = tmp_path / "reference.h5"
    done = _run(mpiexec, 2, config, reference)
    assert done.returncode == 0, done.stderr

    output = tmp_path / "killed.h5"
    proc = _start_until_checkpoint(mpiexec, config, output, tmp_path, start_new_session=True)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    _wait_until_gone(Path(f"{output}.lock"))
    partial = io.load(output)  # a valid file: the last atomic replace, never a torn write
    assert partial.finished is False
    assert 1 <= int(partial.checkpoint["n_completed"]) < 10
    done = _run(mpiexec, 2, config, output, "--resume")
    assert done.returncode == 0, done.stderr
    resumed, full = io.load(output), io.load(reference)
    assert resumed.finished is True
    def same(a, b, where):
        assert sorted(a) == sorted(b), where
        for key, value in a.items():
            other = b[key]
            if isinstance(value, dict):
                same(value, other, f"{where}/{key}")
            elif isinstance(value, np.ndarray):
                nan_ok = value.dtype.kind in "fc"
                assert np.array_equal(value, other, equal_nan=nan_ok), f"{where}/{key}"
            else:
                assert value == other, f"{where}/{key}"

    same(full.results, resumed.results, "results")
