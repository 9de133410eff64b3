"""SLURM: a real single-node cluster (tests/slurm_cluster.py) runs MPI jobs and slurm/*.sbatch.

The cluster tests are marked `slurm` and skip, with the reason, where a cluster cannot be
started (not root, SLURM not installed: .ci/run installs Debian's packages when it can).

The batch scripts run twice: against a stub `mpiexec` (a fake venv put in front of PATH
through KELDYSH_VENV) that records its arguments and imitates the solver's file protocol,
which checks the scripts' own logic (arguments, overrides, environment, and the signal ->
checkpoint -> requeue -> resume cycle of long.sbatch); and with the real solver on a tiny
config (KELDYSH_VENV = the test venv), whose HDF5 outputs are compared with a serial run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from slurm_cluster import SlurmCluster, find_binary

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {name: REPO / "slurm" / f"{name}.sbatch" for name in ("single", "array", "long")}


@pytest.fixture(scope="module")
def cluster():
    ok, reason = SlurmCluster.available()
    if not ok:
        print(f"SLURM tests skipped: {reason}")
        pytest.skip(reason)
    with SlurmCluster() as running:
        print(f"SLURM test cluster: auth/{running.auth}, mpi/{running.mpi_default}")
        yield running


@pytest.mark.slurm
def test_cluster_prefers_munge(cluster):
    """Munge is the real authentication; auth/none is only the fallback without it."""
    if find_binary("munged") is None:
        pytest.skip("munge not installed: the cluster runs with auth/none")
    assert cluster.auth == "munge", cluster.log_tail(5)
    assert cluster.run("sinfo", "-h", "-o", "%t").stdout.strip() == "idle"


def _job_output(directory: Path) -> str:
    return "\n".join(
        f"--- {path.name} ---\n{path.read_text(errors='replace')}"
        for path in sorted(directory.glob("*.out"))
    )


# ------------------------------------------------------------------------ the cluster


@pytest.mark.slurm
@pytest.mark.mpi
def test_mpiexec_inside_a_batch_job(cluster, mpiexec, tmp_path):
    script = tmp_path / "world_size.sbatch"
    script.write_text(textwrap.dedent("""\
        #!/bin/bash
        #SBATCH --job-name=world-size
        #SBATCH --nodes=1
        #SBATCH --ntasks=2
        #SBATCH --time=5
        #SBATCH --output=job-%j.out
        set -euo pipefail
        echo "job $SLURM_JOB_ID on $SLURM_JOB_NODELIST, $SLURM_NTASKS tasks"
        OUT_FILE="$1" "$MPIEXEC" -n 2 "$PYTHON" -m mpi4py -c '
        import os
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        print("rank", comm.rank, "of", comm.size, flush=True)
        if comm.rank == 0:
            with open(os.environ["OUT_FILE"], "w") as f:
                f.write(str(comm.size))
        '
        """))
    done = cluster.sbatch_wait(
        script, tmp_path / "size.txt",
        env={"MPIEXEC": mpiexec, "PYTHON": sys.executable}, cwd=tmp_path, timeout=180,
    )
    assert done.returncode == 0, done.stderr + _job_output(tmp_path)
    assert (tmp_path / "size.txt").read_text() == "2", _job_output(tmp_path)


@pytest.mark.slurm
def test_failing_job_reports_its_exit_code(cluster, tmp_path):
    script = tmp_path / "fail.sbatch"
    script.write_text("#!/bin/bash\n#SBATCH --output=job-%j.out\nexit 3\n")
    done = cluster.sbatch_wait(script, cwd=tmp_path, timeout=60)
    assert done.returncode == 3, done.stderr


# ------------------------------------------------------------- slurm/*.sbatch scripts


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_batch_script_is_valid_bash(name):
    subprocess.run(["bash", "-n", str(SCRIPTS[name])], check=True)


@pytest.mark.slurm
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_scheduler_accepts_batch_script(cluster, name, tmp_path):
    done = cluster.run("sbatch", "--test-only", str(SCRIPTS[name]), cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr


_STUB_MPIEXEC = '''\
#!{python}
"""Stub of `mpiexec ... python -m mpi4py -m solvers CONFIG [-o K=V] --output OUT [...]`.

Records its arguments in $STUB_LOG and imitates the solver's file protocol: a fresh run
writes "ready", waits for SIGTERM and then writes a checkpoint (finished=False); a --resume
run (or STUB_MODE=finish) writes the finished file at once.
"""
import json, os, signal, sys, time
from keldysh import io

args = sys.argv[1:]
output = args[args.index("--output") + 1]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
                          "restart": os.environ.get("SLURM_RESTART_COUNT")}}) + "\\n")

def write(finished):
    io.write_results(output, task="stub", config={{"args": args}}, results={{}},
                     checkpoint=None if finished else {{"iteration": 1}},
                     finished=finished, overwrite=True)

if "--resume" in args or os.environ.get("STUB_MODE") == "finish":
    write(True)
    sys.exit(0)

def on_term(signum, frame):
    write(False)
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
open(os.environ["STUB_READY"], "w").close()
time.sleep(600)
sys.exit(1)
'''


@pytest.fixture
def stub_venv(tmp_path):
    """A KELDYSH_VENV whose activate puts the stub mpiexec first and our python after it."""
    venv = tmp_path / "stub-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text(
        f'export PATH="{venv / "bin"}:{Path(sys.executable).parent}:$PATH"\n'
    )
    mpiexec = venv / "bin" / "mpiexec"
    mpiexec.write_text(_STUB_MPIEXEC.format(python=sys.executable))
    mpiexec.chmod(0o755)
    submit = tmp_path / "submit"
    submit.mkdir()
    env = {
        "KELDYSH_VENV": str(venv),
        "PYTHONPATH": str(REPO),
        "STUB_LOG": str(tmp_path / "stub.log"),
        "STUB_READY": str(tmp_path / "stub.ready"),
    }
    return submit, env


def _stub_calls(env) -> list[dict]:
    path = Path(env["STUB_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slurm
def test_single_sbatch_calls_the_cli(cluster, stub_venv):
    submit, env = stub_venv
    done = cluster.sbatch_wait(
        SCRIPTS["single"], env={**env, "STUB_MODE": "finish"}, cwd=submit, timeout=120
    )
    assert done.returncode == 0, done.stderr + _job_output(submit)
    (call,) = _stub_calls(env)
    assert call["args"] == [
        "-n", "2", "python", "-m", "mpi4py", "-m", "solvers", "runs/quickstart.toml",
        "--output", "out/single.h5", "--overwrite",
    ]
    assert call["numba_threads"] == "1"
    assert (submit / "out" / "single.h5").exists()


@pytest.mark.slurm
def test_array_sbatch_one_override_per_task(cluster, stub_venv):
    submit, env = stub_venv
    env = {**env, "STUB_MODE": "finish", "KEY": "drive.Omega", "VALUES": "0.5 1 2"}
    done = cluster.sbatch_wait(SCRIPTS["array"], env=env, cwd=submit, timeout=180)
    assert done.returncode == 0, done.stderr + _job_output(submit)
    calls = sorted(_stub_calls(env), key=lambda call: call["args"][-2])
    assert [call["args"][-5:] for call in calls] == [
        ["-o", f"drive.Omega={value}", "--output", f"out/array/task{i}.h5", "--overwrite"]
        for i, value in enumerate(["0.5", "1", "2"])
    ]
    assert sorted(p.name for p in (submit / "out" / "array").iterdir()) == [
        "task0.h5", "task1.h5", "task2.h5"
    ]


def _wait_for(predicate, timeout: float, what: str, debug=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{debug()}")


def _job_field(cluster, job_id: str, field: str) -> str:
    shown = cluster.run("scontrol", "-o", "show", "job", job_id, check=False).stdout
    for item in shown.split():
        if item.startswith(field + "="):
            return item.split("=", 1)[1]
    return ""


@pytest.mark.slurm
def test_long_sbatch_checkpoints_requeues_and_resumes(cluster, stub_venv):
    """TERM to the batch shell (as --signal=B:TERM@60 sends it) -> checkpoint -> requeue ->
    the requeued job resumes from the output file and finishes."""
    from keldysh import io

    submit, env = stub_venv
    job_id = cluster.run(
        "sbatch", "--parsable", str(SCRIPTS["long"]), env=env, cwd=submit
    ).stdout.strip().split(";")[0]
    debug = lambda: _job_output(submit) + "\n" + cluster.log_tail(10)  # noqa: E731
    _wait_for(lambda: Path(env["STUB_READY"]).exists(), 60, "the solver stub to start", debug)

    cluster.run("scancel", "--batch", "--signal=TERM", job_id)
    _wait_for(lambda: _job_field(cluster, job_id, "Restarts") == "1", 60, "the requeue", debug)
    # The requeued job may start once the credential has expired (cred_expire, 10 s here).
    _wait_for(
        lambda: _job_field(cluster, job_id, "JobState") == "COMPLETED", 120,
        "the resumed job to complete", debug,
    )
    assert _job_field(cluster, job_id, "ExitCode") == "0:0", debug()

    first, second = _stub_calls(env)
    assert "--resume" not in first["args"] and first["args"][-2:] == ["--output", "out/long.h5"]
    assert second["args"][-3:] == ["--output", "out/long.h5", "--resume"]
    assert second["restart"] == "1"
    assert io.load(submit / "out" / "long.h5").finished is True
    log = (submit / f"slurm-keldysh-long-{job_id}.out").read_text()  # one log, appended
    assert "SIGTERM: forwarding it to mpiexec" in log
    assert "requeueing; the next start resumes from out/long.h5" in log
    assert "resuming from out/long.h5 (restart 1)" in log


# ------------------------------------------------------------------------------------------
# the real solver through slurm/*.sbatch: a tiny config, the test venv, HDF5 outputs checked

VENV = Path(sys.executable).parent.parent  # the venv running the tests (its bin/activate)

TINY_SCAN = """\
task = "phase-diagram"
[model]
delta = 1.0
[baths]
Gamma1 = 5e-3
Gamma2 = 5e-3
[scan]
parameter = "Omega_over_Gamma"
values = {values}
[numerics]
mesh = "monkhorst-pack"
nk = 10
routes = ["paper", "born_markov"]
nu_per_panel = 4
v_values = [0.0, 1.0]
"""


def _real_env(tmp_path, values="[0.5, 5.0, 50.0]", **extra) -> tuple[Path, dict]:
    """A submit directory and the environment for the real scripts (KELDYSH_VENV = test venv)."""
    if not (VENV / "bin" / "activate").exists():
        pytest.skip(f"{VENV} is not a venv with bin/activate")
    submit = tmp_path / "submit"
    submit.mkdir()
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_SCAN.format(values=values))
    env = {"KELDYSH_VENV": str(VENV), "CONFIG": str(config), **extra}
    return submit, env


def _serial_results(config: Path, **overrides) -> dict:
    """The same config run in this process, serially (the reference)."""
    from solvers.app.config import load_config
    from solvers.app.tasks import TASKS

    cfg = load_config(config, [f"{k}={v}" for k, v in overrides.items()])
    return TASKS[cfg.task](cfg)["results"]


def _assert_results_equal(reference: dict, results: dict, rtol: float = 1e-12, where: str = "") -> None:
    """The nested results tree of the file equals the serial run's (floats to rtol, the rest
    exactly; strings compared as text whether the file returns str or bytes)."""
    import numpy as np

    assert sorted(reference) == sorted(results), where
    for key, value in reference.items():
        here = f"{where}/{key}"
        if isinstance(value, dict):
            _assert_results_equal(value, results[key], rtol, here)
            continue
        x, y = np.asarray(value), np.asarray(results[key])
        assert x.shape == y.shape, here
        if x.dtype.kind not in "fc" or y.dtype.kind not in "fc":
            text = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v, otypes=[object])
            assert np.array_equal(text(x), text(y)), here
            continue
        assert np.array_equal(np.isnan(x), np.isnan(y)), here
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=rtol, atol=0, err_msg=here)


@pytest.mark.slurm
@pytest.mark.mpi
def test_single_sbatch_runs_the_solver(cluster, tmp_path):
    from keldysh import io

    submit, env = _real_env(tmp_path, OUTPUT="out/single.h5")
    done = cluster.sbatch_wait(SCRIPTS["single"], env=env, cwd=submit, timeout=240)
    assert done.returncode == 0, done.stderr + _job_output(submit)
    data = io.load(submit / "out" / "single.h5")
    assert data.finished is True
    assert data.attrs["n_ranks"] == 2
    assert data.config["output"]["path"] == "out/single.h5"
    _assert_results_equal(_serial_results(Path(env["CONFIG"])), data.results)


@pytest.mark.slurm
@pytest.mark.mpi
def test_array_sbatch_runs_one_value_per_task(cluster, tmp_path):
    from keldysh import io

    # two array tasks (--array on the command line overrides the script's 0-2), one scan point
    submit, env = _real_env(tmp_path, values="[5.0]", KEY="model.delta", VALUES="0.8 1.2")
    done = cluster.sbatch_wait(SCRIPTS["array"], env=env, cwd=submit, timeout=300,
                               options=("--array=0-1",))
    assert done.returncode == 0, done.stderr + _job_output(submit)
    assert sorted(p.name for p in (submit / "out" / "array").iterdir()) == ["task0.h5", "task1.h5"]
    for i, delta in enumerate((0.8, 1.2)):
        data = io.load(submit / "out" / "array" / f"task{i}.h5")
        assert data.finished is True and data.attrs["n_ranks"] == 2
        assert data.config["model"]["delta"] == delta
        assert data.config["drive"]["omega0"] == pytest.approx(delta + 0.1)  # default follows delta
        assert data.attrs["argv"][-5:-3] == ["-o", f"model.delta={['0.8', '1.2'][i]}"]
    _assert_results_equal(_serial_results(Path(env["CONFIG"]), **{"model.delta": 1.2}),
                          io.load(submit / "out" / "array" / "task1.h5").results)


@pytest.mark.slurm
@pytest.mark.mpi
@pytest.mark.slow  # ~40 s (the requeue waits for cred_expire); the stub test above is the fast check
def test_long_sbatch_real_solver_checkpoints_requeues_and_resumes(cluster, tmp_path):
    """SIGTERM to the batch shell mid-scan: the solver checkpoints and exits 75, the job
    requeues itself, the restart resumes from the checkpoint and the final file equals an
    uninterrupted (serial) run."""
    import numpy as np

    from keldysh import io

    values = "[" + ", ".join(f"{v:.6g}" for v in np.geomspace(0.3, 300.0, 16)) + "]"
    submit, env = _real_env(tmp_path, values=values, OUTPUT="out/long.h5")
    output = submit / "out" / "long.h5"
    job_id = cluster.run(
        "sbatch", "--parsable", str(SCRIPTS["long"]), env=env, cwd=submit
    ).stdout.strip().split(";")[0]
    debug = lambda: _job_output(submit) + "\n" + cluster.log_tail(10)  # noqa: E731
    _wait_for(output.exists, 120, "the first checkpoint", debug)
    cluster.run("scancel", "--batch", "--signal=TERM", job_id)
    _wait_for(lambda: _job_field(cluster, job_id, "Restarts") == "1", 90, "the requeue", debug)
    _wait_for(
        lambda: _job_field(cluster, job_id, "JobState") == "COMPLETED", 180,
        "the resumed job to complete", debug,
    )
    assert _job_field(cluster, job_id, "ExitCode") == "0:0", debug()
    log = (submit / f"slurm-keldysh-long-{job_id}.out").read_text()
    assert "solver exited with status 75 after SIGTERM" in log, log
    assert "resuming from out/long.h5 (restart 1)" in log, log
    resumed = [line for line in log.splitlines() if "phase-diagram: resuming with" in line]
    assert len(resumed) == 1, log
    n_done = int(resumed[0].split("resuming with ")[1].split()[0])
    assert 1 <= n_done < 16, resumed[0]
    data = io.load(output)
    assert data.finished is True and data.attrs["n_ranks"] == 2
    _assert_results_equal(_serial_results(Path(env["CONFIG"])), data.results)
