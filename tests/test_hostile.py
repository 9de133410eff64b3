"""The hostile catalogue (issue 13): bad inputs and faults that ``keldysh-run`` and
``keldysh-plot`` must survive.

Every case runs the real program in a subprocess, in a directory of its own holding small
configs, and asserts the exit status, exactly one message line on stderr (besides the run's
timestamped log lines) that says what is wrong, no traceback anywhere, and that no file or
directory was created or changed (except what the case documents, e.g. a checkpoint).  The
cases run in parallel (a thread pool of subprocesses); the F-numbers are those of the issue.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from keldysh import io
from solvers.app import cli
from solvers.app.config import load_config

TIMEOUT = 240
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d rank \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
BIG = "1" + "0" * 400  # 10**400: beyond the float range
HUGE = "1" + "0" * 5000  # more digits than Python converts

CONFIGS = {
    "eta.toml": """\
        task = "eta-map"
        [model]
        delta = 1.0
        [numerics]
        grid_points = 16
    """,
    # n_omega resolves the Lorentzians (no resolution warning)
    "spec.toml": """\
        task = "spectral"
        [model]
        delta = 5.0
        [drive]
        Omega = 5e-3
        [baths]
        Gamma1 = 5e-4
        Gamma2 = 5e-4
        [numerics]
        n_cut = 8
        n_omega = 17
        omega_halfwidth = 0.002
    """,
    "etascan.toml": """\
        task = "eta-map"
        [model]
        t = 1.0
        [scan]
        parameter = "delta"
        start = 0.25
        stop = 5.0
        num = 100
        [numerics]
        grid_points = 16
    """,
    "bigspec.toml": """\
        task = "spectral"
        [model]
        delta = 5.0
        [drive]
        Omega = 5e-3
        [baths]
        Gamma1 = 5e-4
        Gamma2 = 5e-4
        [numerics]
        n_cut = 400
        n_omega = 2001
    """,
    "phase.toml": """\
        task = "phase-diagram"
        [model]
        delta = 5.0
        [baths]
        Gamma1 = 5e-4
        Gamma2 = 5e-4
        [scan]
        parameter = "Omega_over_Gamma"
        values = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        [numerics]
        mesh = "exact-dos"
        n_resonance = 16
        n_band = 8
        nu_per_panel = 4
        v_values = [0.0, 1.0]
    """,
    "gap.toml": """\
        task = "gap"
        [model]
        delta = 1.0
        [baths]
        kind = "quasi_thermal"
        Gamma12 = 1e-3
        mu2 = 0.56
        [interaction]
        Vprime = 1.0
        [numerics]
        n_resonance = 40
        n_band = 20
    """,
}


def _env(extra=None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KELDYSH_FAIL_RANK"}
    env.update({"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(extra or {})})
    return env


def _make_dir(root: Path, name: str) -> Path:
    directory = root / name
    directory.mkdir()
    for file, text in CONFIGS.items():
        (directory / file).write_text(textwrap.dedent(text))
    return directory


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path below ``root`` with its kind, size, mtime and content hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_dir() and not path.is_symlink():
            out[str(path.relative_to(root))] = ("dir",)
        else:
            data = path.read_bytes() if path.is_file() else b""
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
    return out


# --------------------------------------------------------------------------------- preparers


def _results_file(path: Path, config: dict, task: str = "phase-diagram", **sections) -> None:
    io.write_results(path, task=task, config=config, results=sections.pop("results", {"x": 1.0}), **sections)


def _phase_config(directory: Path) -> dict:
    return load_config(directory / "phase.toml").resolved()


def _checkpoint(directory: Path, completed, chi0_row0=1.0, **ck) -> None:
    """A phase-diagram checkpoint of phase.toml (8 points) with the given completed flags."""
    n = 8
    chi0 = np.ones((n, 2, 2), complex)
    chi0[0] *= chi0_row0
    flags = np.asarray(completed)
    checkpoint = {"completed": flags, "n_completed": int(np.nansum(flags)), "n_scan": n, **ck}
    _results_file(directory / "ck.h5", _phase_config(directory), results={"chi0": {"paper": chi0}},
                  checkpoint=checkpoint, finished=False)


def _list_config_json(directory: Path) -> None:
    _results_file(directory / "ck.h5", _phase_config(directory))
    with h5py.File(directory / "ck.h5", "r+") as f:
        f["config"].attrs["config_json"] = "[1, 2, 3]"


def _lock(pid: int, host: str | None = None, text: str | None = None):
    def prepare(directory: Path) -> None:
        import socket

        body = text if text is not None else json.dumps(
            {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00+00:00",
             "argv": ["keldysh-run", "eta.toml", "--output", "out.h5"]})
        (directory / "out.h5.lock").write_text(body)
    return prepare


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


# --------------------------------------------------------------------------------- the cases


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    args: tuple
    status: int
    message: str  # regex that the one message line must match
    prepare: Callable[[Path], None] | None = None
    program: str = "run"  # run: keldysh-run; plot: keldysh-plot; nan: keldysh-run with NaN injected
    changes: tuple = ()  # paths the case may create or change (all others must stay as they were)
    signals: tuple = ()  # (wait for this file, then seconds, signal), sent in order
    check: Callable[[Path], None] | None = None


def _unfinished(name: str, *, checkpoint: bool):
    def check(directory: Path) -> None:
        path = directory / name
        if not checkpoint:
            assert not path.exists()
            return
        data = io.load(path)
        assert data.finished is False
        if data.checkpoint is not None:
            assert 1 <= data.checkpoint["n_completed"] < data.checkpoint["n_scan"]
    return check


def _finished_without_lock(directory: Path) -> None:
    assert io.load(directory / "out.h5").finished is True
    assert not (directory / "out.h5.lock").exists()


def _nan_written(directory: Path) -> None:
    data = io.load(directory / "out.h5")
    assert data.finished is False and np.isnan(data.results["A"][0, 0, 0])


R, M, P = "run", "plot", "nan"
FIRST_CHECKPOINT = "ck_out.h5"
CASES = [
    # ---- output paths (F5-F8, F14): all found before any work
    Case("F5-file-name-over-255", ("eta.toml", "--output", "x" * 300 + ".h5"), 2,
         r"the file name is 303 bytes, at most \d+ allowed"),
    Case("F6-trailing-slash", ("eta.toml", "--output", "trail/"), 2, r"--output trail/: names a directory"),
    Case("F7-procfs-directory", ("eta.toml", "--output", "/proc/self/x.h5"), 2, r"--output /proc/self/x\.h5: "),
    Case("F7-procfs-root", ("eta.toml", "--output", "/proc/x.h5"), 2, r"--output /proc/x\.h5: "),
    Case("F8-path-over-PATH_MAX-no-directories", ("eta.toml", "--output", "/".join(["d" * 250] * 20) + "/x.h5"),
         2, r"the path is \d+ bytes long"),
    Case("F8-directory-name-over-255", ("eta.toml", "--output", "new/" + "d" * 300 + "/x.h5"), 2,
         r"the directory name d+\.\.\. \(300 characters\) is 300 bytes"),
    Case("F14-output-is-the-config", ("eta.toml", "--output", "eta.toml", "--overwrite"), 2,
         r"--output eta\.toml: is the config file of this run"),
    Case("F14-output-is-the-config-other-spelling", ("eta.toml", "--output", "./eta.toml", "--overwrite"), 2,
         r"is the config file of this run"),
    Case("output-below-a-file", ("eta.toml", "--output", "eta.toml/x.h5"), 2, r"eta\.toml is not a directory"),
    Case("output-is-a-directory", ("eta.toml", "--output", "adir", "--overwrite"), 2, r"--output adir: is a directory",
         prepare=lambda d: (d / "adir").mkdir()),
    Case("overwrite-a-non-results-file", ("eta.toml", "--output", "notes.txt", "--overwrite"), 2,
         r"exists and is not a keldysh results file", prepare=lambda d: (d / "notes.txt").write_text("precious")),
    Case("overwrite-a-device", ("eta.toml", "--output", "/dev/null", "--overwrite"), 2,
         r"/dev/null: exists and is not a keldysh results file"),
    Case("output-exists", ("eta.toml", "--output", "out.h5"), 2, r"out\.h5: exists \(pass --overwrite",
         prepare=lambda d: _results_file(d / "out.h5", {"old": 1})),
    # ---- F2: another writer (a live process on this host holds the lock)
    Case("F2-output-locked-by-a-live-run", ("eta.toml", "--output", "out.h5", "--overwrite"), 2,
         rf"another run is writing it \(pid {os.getpid()} on host .*eta\.toml.*\); lock file out\.h5\.lock",
         prepare=_lock(os.getpid())),
    Case("F2-unreadable-lock", ("eta.toml", "--output", "out.h5"), 2, r"another run is writing it \(unknown run",
         prepare=_lock(0, text="")),
    Case("stale-lock-of-a-dead-run-is-taken-over", ("eta.toml", "--output", "out.h5"), 0, r"^$",
         prepare=lambda d: _lock(_dead_pid())(d), changes=("out.h5", "out.h5.lock"), check=_finished_without_lock),
    # ---- F3, F4, F11: numbers too big, sizes beyond the documented maxima, memory
    Case("F3-integer-beyond-float", ("eta.toml", "-o", f"model.delta={BIG}"), 2,
         r"model\.delta: must be finite, > 0 \(got an integer of about 401 digits\)"),
    Case("F3-integer-beyond-float-check", ("eta.toml", "-o", f"model.delta=-{BIG}", "--check"), 2,
         r"model\.delta: must be finite"),
    Case("F3-more-digits-than-python-converts", ("eta.toml", "-o", f"model.delta={HUGE}", "--check"), 2,
         r"-o model\.delta=1000.*: cannot read the value"),
    Case("F4-scan-num-1e20-check", ("phase.toml", "-o", "scan.start=1", "-o", "scan.stop=2", "-o",
                                    f"scan.num={10**20}", "--check"), 2,
         r"scan\.num: must be at most 10000, the largest the engine handles \(got an integer of about 21 digits"),
    Case("F11-scan-num-1e9", ("phase.toml", "-o", "scan.start=1", "-o", "scan.stop=2", "-o", "scan.num=1000000000"),
         2, r"scan\.num: must be at most 10000"),
    Case("F11-scan-values-too-many", ("phase.toml", "-o", "scan.values=[" + ", ".join(["1.0"] * 10001) + "]"), 2,
         r"scan\.values: must have at most 10000 entries"),
    Case("F11-nk-1e6", ("phase.toml", "-o", "numerics.mesh=monkhorst-pack", "-o", "numerics.nk=1000000"), 2,
         r"numerics\.nk: must be at most 20000"),
    Case("F11-grid-points-1e5", ("eta.toml", "-o", "numerics.grid_points=100000"), 2,
         r"numerics\.grid_points: must be at most 20000"),
    Case("F11-memory-eta-map-1-TiB", ("etascan.toml", "-o", "numerics.grid_points=20000", "--output",
                                      "new/deep/out.h5"), 2,
         r"memory: the run needs about 1\.\d+e\+03 GiB per rank, [\d.e+]+ GiB available on this node: lower "
         r"numerics\.grid_points \(now 20000\)"),
    Case("F11-memory-spectral", ("spec.toml", "-o", "numerics.n_cut=20000", "-o", "numerics.n_omega=1000000"), 2,
         r"memory: the run needs about .* lower numerics\.n_omega \(now 1000000\)"),
    Case("F11-memory-against-max-memory", ("phase.toml", "--max-memory", "0.01"), 2,
         r"memory: .* GiB given by --max-memory"),
    Case("max-memory-not-a-number", ("eta.toml", "--max-memory", "nan"), 2, r"--max-memory: must be a positive"),
    Case("deeply-nested-value", ("eta.toml", "-o", "model.delta=" + "[" * 5000 + "]" * 5000), 2,
         r"cannot read the value"),
    # ---- F10, F12: extreme physical values: rejected with their range
    Case("F12-hopping-1e-300", ("eta.toml", "-o", "model.t=1e-300"), 2,
         r"model\.t: must be within \[0\.001, 1000\], the range the engine handles \(got 1e-300"),
    Case("F10-v-values-1e300", ("phase.toml", "-o", "numerics.v_values=[1e300]"), 2,
         r"numerics\.v_values\[0\]: must be within \[0, 10000\]"),
    Case("F12-spectral-mu-1e300", ("spec.toml", "-o", "baths.mu=1e300"), 2, r"baths\.mu: must be within"),
    Case("rate-1e-300", ("spec.toml", "-o", "baths.Gamma1=1e-300"), 2, r"baths\.Gamma1: must be within \[1e-10, 100\]"),
    Case("temperature-1e300", ("spec.toml", "-o", "baths.temperature=1e300"), 2, r"baths\.temperature: must be within"),
    Case("Omega-1e300", ("spec.toml", "-o", "drive.Omega=1e300"), 2, r"drive\.Omega: must be within"),
    Case("omega0-1e300", ("spec.toml", "-o", "drive.omega0=1e300"), 2, r"drive\.omega0: must be within"),
    Case("V-max-1e300", ("phase.toml", "-o", "numerics.V_max=1e300"), 2, r"numerics\.V_max: must be within"),
    Case("scan-value-1e300", ("phase.toml", "-o", "scan.values=[1e300]"), 2, r"scan\.values\[0\]: must be within"),
    Case("Vprime-1e300", ("gap.toml", "-o", "interaction.Vprime=1e300"), 2, r"interaction\.Vprime: must be within"),
    Case("phi-1e300", ("gap.toml", "-o", "interaction.phi=1e300"), 2, r"interaction\.phi: must be within"),
    Case("delta-1e-300", ("eta.toml", "-o", "model.delta=1e-300"), 2, r"model\.delta: must be within \[1e-06, 10000\]"),
    Case("shell-resolution-1e-300", ("phase.toml", "-o", "numerics.mesh=exact-dos-shell", "-o",
                                     "numerics.shell_resolution=1e-300"), 2,
         r"numerics\.shell_resolution: must be within"),
    Case("nu-span-1e300", ("phase.toml", "-o", "numerics.nu_span=1e300"), 2, r"numerics\.nu_span: must be within"),
    # ---- F13: resume files validated structurally
    Case("F13-config-json-a-list", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"--resume ck\.h5: cannot resume from it: its /config@config_json is not a JSON object \(got a list\)",
         prepare=_list_config_json),
    Case("F13-plot-config-json-a-list", ("ck.h5", "--out", "figs"), 2,
         r"keldysh-plot: error: ck\.h5: not a usable results file: /config@config_json is not a JSON object",
         prepare=_list_config_json, program=M),
    Case("F13-completed-flags-NaN", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"/checkpoint/completed must be a boolean array \(got float64\)",
         prepare=lambda d: _checkpoint(d, [1.0, np.nan, 0, 0, 0, 0, 0, 0])),
    Case("F13-completed-point-NaN", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"results/chi0/paper: 4 of 4 values are NaN or infinite at completed points",
         prepare=lambda d: _checkpoint(d, np.array([True] + [False] * 7), chi0_row0=np.nan)),
    Case("F13-n-completed-disagrees", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"/checkpoint/n_completed is 5, the completed flags say 1",
         prepare=lambda d: _checkpoint(d, np.array([True] + [False] * 7), n_completed=5)),
    Case("F13-scan-length-differs", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"checkpoint has 3 scan points, the config has 8",
         prepare=lambda d: _checkpoint(d, np.array([True, False, False]), n_scan=3)),
    Case("resume-from-a-directory", ("phase.toml", "--resume", "adir"), 2, r"--resume adir: is a directory",
         prepare=lambda d: (d / "adir").mkdir()),
    Case("resume-from-the-config", ("phase.toml", "--resume", "phase.toml", "--output", "out.h5"), 2,
         r"--resume phase\.toml: cannot resume from it: .*not a keldysh results file"),
    Case("resume-from-another-task", ("phase.toml", "--resume", "ck.h5", "--output", "out.h5"), 2,
         r"written by task 'eta-map', the config runs task 'phase-diagram'",
         prepare=lambda d: _results_file(d / "ck.h5", {"task": "eta-map"}, task="eta-map")),
    Case("plot-a-malformed-file", ("ck.h5",), 2, r"keldysh-plot: error: ck\.h5: cannot plot it, malformed results",
         prepare=lambda d: _results_file(d / "ck.h5", _phase_config(d)), program=M),
    Case("plot-into-procfs", ("ck.h5", "--out", "/proc/figs"), 2, r"keldysh-plot: error: .*/proc/figs",
         prepare=lambda d: _results_file(d / "ck.h5", load_config(d / "eta.toml").resolved(), task="eta-map"),
         program=M),
    # ---- the command line
    Case("unknown-option", ("eta.toml", "--bogus"), 2, r"unrecognized arguments: --bogus \(usage: keldysh-run"),
    Case("override-without-value", ("eta.toml", "-o", "model.delta"), 2, r"-o model\.delta: expected KEY=VALUE"),
    Case("no-config", (), 2, r"the following arguments are required: config"),
    Case("config-is-a-directory", ("adir",), 2, r"adir: is a directory, not a config file",
         prepare=lambda d: (d / "adir").mkdir()),
    Case("config-is-binary", ("bin.toml",), 2, r"bin\.toml: not a text file",
         prepare=lambda d: (d / "bin.toml").write_bytes(bytes(range(256)))),
    Case("check-and-show-config", ("eta.toml", "--check", "--show-config"), 2, r"give one of them"),
    # ---- results that are not finite: said, exit 4, the file written unfinished for inspection
    Case("NaN-in-the-spectral-function", ("spec.toml", "--output", "out.h5"), 4,
         r"the computation produced non-finite values: results/A: 1 of \d+ values are NaN or infinite; written to "
         r"out\.h5 with finished = False", program=P, changes=("out.h5",), check=_nan_written),
    # ---- signals (F9): Ctrl-C like SIGTERM, one line, exit 75
    Case("F9-ctrl-c-in-a-scan-checkpoints", ("phase.toml", "--output", "out.h5"), 75,
         r"interrupted by SIGINT: stopped after \d of 8 scan points; checkpoint in out\.h5 \(finished = False\), "
         r"continue with --resume", signals=(("out.h5", 0.0, signal.SIGINT),), changes=("out.h5",),
         check=_unfinished("out.h5", checkpoint=True)),
    Case("F9-ctrl-c-twice", ("phase.toml", "--output", "out.h5"), 75, r"^keldysh-run: interrupted by SIGINT",
         signals=(("out.h5", 0.0, signal.SIGINT), (None, 0.05, signal.SIGINT)), changes=("out.h5",),
         check=_unfinished("out.h5", checkpoint=True)),
    Case("SIGTERM-without-checkpoints", ("bigspec.toml", "--output", "new/deep/out.h5"), 75,
         r"interrupted by SIGTERM: task 'spectral' does not checkpoint; nothing written",
         signals=(("new/deep/out.h5.lock", 0.3, signal.SIGTERM),),
         check=_unfinished("new/deep/out.h5", checkpoint=False)),
    Case("ctrl-c-without-checkpoints", ("bigspec.toml", "--output", "out.h5"), 75,
         r"interrupted by SIGINT: task 'spectral' does not checkpoint; nothing written",
         signals=(("out.h5.lock", 0.3, signal.SIGINT),)),
]

_NAN_INJECTION = """\
import sys
import numpy as np
from solvers.app import tasks
spectral = tasks.TASKS["spectral"]
def with_nan(*args, **kwargs):
    out = spectral(*args, **kwargs)
    out["results"]["A"][0, 0, 0] = np.nan
    return out
tasks.TASKS["spectral"] = with_nan
from solvers.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _command(program: str) -> list[str]:
    return {R: [sys.executable, "-m", "solvers"], M: [sys.executable, "-m", "solvers.app.plot"],
            P: [sys.executable, "-c", _NAN_INJECTION]}[program]


def _wait_for(path: Path, proc: subprocess.Popen, limit: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists() and proc.poll() is None and time.monotonic() - t0 < limit:
        time.sleep(0.02)


def run_case(case: Case, directory: Path) -> tuple[subprocess.CompletedProcess, dict, dict]:
    if case.prepare is not None:
        case.prepare(directory)
    before = snapshot(directory)
    command = [*_command(case.program), *case.args]
    if not case.signals:
        done = subprocess.run(command, cwd=directory, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    else:
        proc = subprocess.Popen(command, cwd=directory, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        for wait_for, delay, signum in case.signals:
            if wait_for is not None:
                _wait_for(directory / wait_for, proc)
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        done = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    return done, before, snapshot(directory)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case, run once, in parallel."""
    root = tmp_path_factory.mktemp("hostile")
    dirs = {case.id: _make_dir(root, case.id) for case in CASES}
    workers = max(4, 2 * (os.cpu_count() or 2))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {case.id: pool.submit(run_case, case, dirs[case.id]) for case in CASES}
        return {name: (future.result(), dirs[name]) for name, future in futures.items()}


def test_the_catalogue_covers_the_issue():
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids)
    assert len(ids) + 3 >= 40  # + the disk-full and the two-writers tests below
    for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14):
        assert any(i.startswith(f"F{n}-") for i in ids), f"F{n}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_case(case, outcomes):
    (done, before, after), directory = outcomes[case.id]
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == case.status, output
    messages = [line for line in done.stderr.splitlines() if not LOG_LINE.match(line)]
    if case.status == 0:
        assert messages == [], done.stderr
    else:
        assert len(messages) == 1, done.stderr
        prog = "keldysh-plot" if case.program == M else "keldysh-run"
        assert messages[0].startswith(f"{prog}: "), messages[0]
        assert re.search(case.message, messages[0]), messages[0]
        if case.status == 2:
            assert done.stderr.count("\n") == 1 and done.stdout == "", done.stderr  # before any work, no log
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    assert changed <= set(case.changes), f"created or changed: {sorted(changed)}"
    if case.check is not None:
        case.check(directory)


# --------------------------------------------------------------------------------- F1, F2


def _run(*args, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solvers", *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


def _one_message(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    messages = [line for line in done.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(messages) == 1, done.stderr
    return messages[0]


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only); skipped where mount is not permitted."""
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_F1_disk_full_is_one_line_and_keeps_the_previous_file(tiny_tmpfs, tmp_path):
    directory = _make_dir(tmp_path, "run")
    previous = tiny_tmpfs / "e.h5"
    _results_file(previous, {"old": 1}, task="eta-map")  # small: fits
    before = previous.read_bytes()
    done = _run("eta.toml", "-o", "numerics.grid_points=60", "--output", previous, "--overwrite", cwd=directory)
    assert done.returncode == 1, done.stderr
    message = _one_message(done)
    assert re.search(rf"keldysh-run: error: writing {previous} failed: .*No space left on device; the previous "
                     r"file at that path \(if any\) is untouched and no temp file is left", message), message
    assert previous.read_bytes() == before
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["e.h5"]  # no temp file, no lock

    previous.unlink()  # and a first write that does not fit leaves nothing at all
    done = _run("eta.toml", "-o", "numerics.grid_points=60", "--output", tiny_tmpfs / "sub" / "e.h5", cwd=directory)
    assert done.returncode == 1 and "No space left on device" in _one_message(done)
    assert list(tiny_tmpfs.iterdir()) == []


def test_F2_a_second_writer_fails_at_once_naming_the_first(tmp_path):
    """Two runs on one output: the second stops before computing (exit 2, naming the first,
    whose result is kept) whether or not the first has written a checkpoint yet."""
    directory = _make_dir(tmp_path, "race")
    first = subprocess.Popen([sys.executable, "-m", "solvers", "phase.toml", "-o", "scan.values=[0.5, 5.0]",
                              "--output", "race.h5"], cwd=directory, env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(directory / "race.h5.lock", first)
        first.send_signal(signal.SIGSTOP)  # hold it mid-run
        try:
            second = _run("phase.toml", "-o", "model.delta=4.0", "--output", "race.h5", "--overwrite", cwd=directory)
            other = _run("phase.toml", "-o", "model.delta=4.0", "--output", "race.h5", cwd=directory)
        finally:
            first.send_signal(signal.SIGCONT)
        stdout, stderr = first.communicate(timeout=TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    message = _one_message(second)
    assert f"another run is writing it (pid {first.pid} on host" in message, message
    assert "lock file race.h5.lock" in message
    assert other.returncode == 2 and re.search(r"another run is writing it|exists", _one_message(other))
    assert first.returncode == 0, stderr
    data = io.load(directory / "race.h5")
    assert data.finished and data.config["model"]["delta"] == 5.0  # the first run's result, whole
    assert not (directory / "race.h5.lock").exists()


# --------------------------------------------------------------------------------- in-process


def test_help_lists_the_tasks_and_show_config_is_toml_with_units(tmp_path):
    import tomllib

    from solvers.app.tasks import TASKS

    directory = _make_dir(tmp_path, "cli")
    done = _run("--help", cwd=directory)
    assert done.returncode == 0 and done.stderr == ""
    for task in TASKS:
        assert re.search(rf"^  {re.escape(task)} ", done.stdout, re.M), task
    done = _run("phase.toml", "--show-config", "-o", "baths.temperature=0.0", cwd=directory)
    assert done.returncode == 0, done.stderr
    cfg = load_config(directory / "phase.toml", ["baths.temperature=0.0"])
    assert tomllib.loads(done.stdout) == json.loads(json.dumps(cfg.resolved()))
    lines = done.stdout.splitlines()
    assert any(line.startswith("delta = 5.0") and "# sublattice gap delta (t)" in line for line in lines)
    assert any(line.startswith("t = 1.0") and line.endswith("; default") for line in lines)
    assert any(line.startswith("temperature = 0.0") and not line.endswith("default") for line in lines)
    assert list(directory.iterdir()) and not (directory / "out").exists()


def test_every_key_of_the_shipped_configs_has_a_unit_or_meaning():
    root = Path(__file__).resolve().parents[1] / "runs"
    for path in sorted(root.glob("*.toml")):
        resolved = load_config(path).resolved()
        for table, values in resolved.items():
            if isinstance(values, dict):
                for key in values:
                    dotted = f"{table}.{key}"
                    assert dotted in cli._KEY_NOTES or dotted.startswith("scan."), f"{path.name}: {dotted}"


def test_shipped_configs_produce_no_warnings():
    from solvers.app.config import resolution_warnings

    root = Path(__file__).resolve().parents[1] / "runs"
    for path in sorted(root.glob("*.toml")):
        assert resolution_warnings(load_config(path)) == [], path.name


def test_nonfinite_rules_allow_padding_and_catch_real_nan():
    """NaN where a task's layout pads (per the rule of each task) passes; NaN elsewhere is named."""
    A = np.ones((2, 3, 4))
    dist = np.full_like(A, 0.5)
    spectral = {"results": {"A": A, "distribution": dist, "energy": np.ones(2)}}
    assert cli.nonfinite_results("spectral", spectral) is None
    A[0, 0, 0] = 1e-20  # A ~ 0: the distribution is NaN there by definition
    dist[0, 0, 0] = np.nan
    assert cli.nonfinite_results("spectral", spectral) is None
    dist[1, 1, 1] = np.nan
    assert "results/distribution" in cli.nonfinite_results("spectral", spectral)

    eta = np.zeros((2, 5, 5))
    eta[:, 2, 2] = np.nan  # k = Γ on an odd grid: 0/0
    eta_map = {"results": {"eta": eta, "energy": np.zeros((2, 5, 5))}}
    assert cli.nonfinite_results("eta-map", eta_map) is None
    eta[0, 0, 0] = np.nan
    assert "results/eta" in cli.nonfinite_results("eta-map", eta_map)

    chi0 = np.ones((3, 2, 2), complex)
    chi0[2] = np.nan  # not completed: NaN rows are the checkpoint's padding
    phase = {"results": {"chi0": {"born_markov": chi0}, "paper": {"x": {"V_max": np.full((3, 1), np.inf)}}},
             "history": {"completed": np.array([True, True, False])}}
    assert cli.nonfinite_results("phase-diagram", phase) is None
    phase["history"]["completed"][2] = True
    assert "results/chi0/born_markov" in cli.nonfinite_results("phase-diagram", phase)

    gap = {"results": {"converged": False, "nu": np.nan}}
    assert cli.nonfinite_results("gap", gap) is None  # no solution: exit 3 says so
    gap["results"]["converged"] = True
    assert "results/nu" in cli.nonfinite_results("gap", gap)
    assert "results/r/chi_plus" in cli.nonfinite_results("susceptibility",
                                                          {"results": {"r": {"chi_plus": np.array([np.nan])}}})


def test_memory_estimate_follows_the_sizes():
    """The estimate grows with what the run holds: the grid squared (eta-map), the cut times
    the frequencies (spectral), the samples of the finest mesh (k-sum tasks)."""
    root = Path(__file__).resolve().parents[1] / "runs"
    eta = [cli.memory_estimate(load_config(root / "fig2_eta.toml", [f"numerics.grid_points={n}"]))[0]
           for n in (1000, 2000)]
    assert eta[1] - cli._BASE_BYTES == pytest.approx(4 * (eta[0] - cli._BASE_BYTES))
    spectral = load_config(root / "spectral.toml")
    one, two = cli.memory_estimate(spectral, 1)[0], cli.memory_estimate(spectral, 2)[0]
    assert cli._BASE_BYTES < two < one
    fine = cli.memory_estimate(load_config(root / "quickstart.toml", ["numerics.shell_resolution=0.05"]))
    coarse = cli.memory_estimate(load_config(root / "quickstart.toml"))
    assert fine[0] - cli._BASE_BYTES == pytest.approx(10 * (coarse[0] - cli._BASE_BYTES), rel=0.05)
    assert fine[1].startswith("numerics.shell_resolution")
