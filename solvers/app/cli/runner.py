"""``keldysh-run``: run one TOML config, serially or under MPI, into one HDF5 results file.

Usage::

    keldysh-run CONFIG.toml [-o KEY=VALUE ...] [--output FILE] [--resume [FILE]]
                            [--overwrite] [--check | --show-config] [--max-memory GIB] [-v]
    python -m solvers CONFIG.toml ...                                 # the same
    mpiexec -n 4 python -m mpi4py -m solvers CONFIG.toml ...          # under MPI

``-o numerics.nk=64`` overrides a config key (the value is a TOML literal: ``-o
numerics.routes='["paper", "keldysh"]'``; anything that is not one is taken as a string).
``--output`` replaces ``output.path`` (default ``out/<config stem>.h5``).  ``--resume FILE``
continues the unfinished run in FILE (a phase-diagram scan keeps the points it completed);
``--resume`` alone resumes from the output file.  ``--check`` validates the config, prints the
resolved config as JSON and exits; ``--show-config`` prints it as TOML with every default
filled in and the unit of every key.

Before any work (rank 0, in this order; any failure is one line on stderr and exit status 2,
and nothing is created or changed): the config (types, ranges, the domain the numerics
handle, documented maxima of every size and count); the ``--resume`` file (a results file of
this task and config, structurally sound: ``config_json`` a JSON object, ``completed`` flags
boolean, completed points finite); the output path (not a directory or ending in ``/``, every
name short enough for the file system, the total length, the nearest existing directory
writable, not the config file, an existing file only with ``--overwrite`` and only if it is a
results file); an estimate of the memory per rank against the memory of the machine
(``--max-memory`` overrides what is detected).  Then the output is claimed: missing
directories are created and the lock file ``<output>.lock`` is created exclusively (it names
this run: pid, host, start time, command line).  A second run writing the same output fails
here (status 2, naming the first).  The lock is removed when the run ends, and so are the
directories it created if no output was written; a lock left by a killed run on this host is
taken over.

Exit status:

====  =====================================================================================
0     finished: the output file has ``finished = True``
1     an unexpected error (logged with its rank; under MPI the whole job is aborted), or the
      output could not be written (e.g. no space left: one line; the previous file at the
      output path is untouched, no temp file is left)
2     bad command line or config, unusable output path or ``--resume`` file, output exists
      without --overwrite, output locked by another run, not enough memory: reported in one
      line on stderr before any work; no file or directory is created or touched
3     gap task only: no converged nonzero solution; the file is still written
      (``finished = True``, ``results/converged = False``)
4     the computation produced NaN or infinity where the task's results must be finite
      (:func:`nonfinite_results` says where, per task); the file is written with
      ``finished = False`` for inspection
75    interrupted by SIGTERM or SIGINT (Ctrl-C), one line (``EX_TEMPFAIL``, try again): a
      phase-diagram scan finishes its current point, writes a checkpoint (``finished =
      False``) and stops, continue it with ``--resume``; a second signal stops at once
      (the last checkpoint stays); the other tasks stop at once and write nothing
====  =====================================================================================

MPI: every rank reads and validates the config, runs the task on its share of the k points
and receives the same reduced numbers; only rank 0 logs at INFO (the others at WARNING) and
only rank 0 writes.  Progress: a bar when stderr is a terminal, otherwise INFO lines.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
import tomllib
from typing import Any

import numpy as np

from keldysh import io
from solvers.app.config import Config, ConfigError, apply_overrides, check_resolution, load_config, parse_override
from solvers.app.tasks import CHECKPOINTING_TASKS, TASKS, Interrupted, Progress, ScanHooks, scan_resume_state

__all__ = ["main", "run", "nonfinite_results", "memory_estimate", "show_config", "EXIT_OK", "EXIT_ERROR",
           "EXIT_USAGE", "EXIT_NOT_CONVERGED", "EXIT_NONFINITE", "EXIT_INTERRUPTED"]

log = logging.getLogger("keldysh-run")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_CONVERGED = 3
EXIT_NONFINITE = 4
EXIT_INTERRUPTED = 75  # os.EX_TEMPFAIL: try again (with --resume)

PROG = "keldysh-run"

#: one line per task for ``--help``
TASK_SUMMARIES = {
    "eta-map": "circular dichroism eta(k) over the Brillouin zone (Fig. 2)",
    "susceptibility": "pair susceptibilities chi(nu) of every route",
    "phase-diagram": "critical couplings V_c along a scan (Fig. 3a, 3b); checkpoints, --resume",
    "gap": "nonzero steady state (Delta+, Delta-, nu) of the gap equation",
    "spectral": "A(k, omega) and the distribution on a cut through K+",
    "gap-map": "branches of the gap equation against V from the bifurcation points, their stability",
    "threshold": "laser intensity at which a TMD monolayer first becomes unstable (full and paper "
                 "criterion, laboratory units); checkpoints, --resume",
}


def _summary(task: str) -> str:
    """The line of ``--help`` for a task: :data:`TASK_SUMMARIES`, else its function's docstring."""
    if task in TASK_SUMMARIES:
        return TASK_SUMMARIES[task]
    doc = (getattr(TASKS.get(task), "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())[:90]

#: room that the temp file (``<name>.tmp-<pid>``) and the lock (``<name>.lock``) need
_SUFFIX_ROOM = len(".tmp-4194304")


class _UsageError(Exception):
    pass


class _Interrupt(BaseException):
    """Raised by the signal handler: stop at once (BaseException: no ``except Exception`` in
    a task swallows it)."""

    def __init__(self, signame: str, count: int):
        super().__init__(signame)
        self.signame = signame
        self.count = count


class _WriteError(Exception):
    """Writing the output failed (the OSError is the cause)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting (the caller prints on rank 0)."""

    def error(self, message):
        raise _UsageError(message)


def _epilog() -> str:
    width = max(map(len, TASKS))
    tasks = "\n".join(f"  {name:<{width}}  {_summary(name)}".rstrip() for name in TASKS)
    return (f"tasks (the config's top-level key task = \"...\"; commented examples in runs/):\n{tasks}\n\n"
            "keys, defaults and units: keldysh-run CONFIG --show-config, and docs/running.md\n\n"
            "exit status: 0 finished; 1 error (or the output could not be written); 2 usage, config,\n"
            "output path, lock or memory problem (one line, nothing written); 3 gap not converged\n"
            "(file written); 4 non-finite results (file written with finished = False); 75\n"
            "interrupted by SIGTERM or Ctrl-C (a phase-diagram scan writes a checkpoint: --resume)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Run one config of the Keldysh engine into an HDF5 results file.",
                epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="TOML config file (see runs/)")
    p.add_argument("-o", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. -o numerics.nk=64 (repeatable)")
    p.add_argument("--output", metavar="FILE", help="results file (default: output.path of the config)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="FILE",
                   help="continue the unfinished run in FILE (default: the output file)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (a results file)")
    p.add_argument("--check", action="store_true", help="validate, print the resolved config (JSON), exit")
    p.add_argument("--show-config", action="store_true",
                   help="print the resolved config (TOML, every default filled in, units), exit")
    p.add_argument("--max-memory", type=float, metavar="GIB",
                   help="memory of this node for the run, in GiB (default: what the machine has available)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging (rank 0)")
    return p


def _error_line(message: str) -> str:
    return f"{PROG}: error: " + " ".join(str(message).split())


def _setup_logging(rank: int, verbose: bool) -> None:
    level = (logging.DEBUG if verbose else logging.INFO) if rank == 0 else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s rank {rank} %(levelname)s %(name)s: %(message)s",
                                           datefmt="%H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("numba", "matplotlib", "h5py"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


# ------------------------------------------------------------------------------ progress


class _TqdmProgress(Progress):
    """tqdm bar on stderr (rank 0, and only when stderr is a terminal)."""

    def __init__(self):
        self._bar = None

    def start(self, total, done=0, desc=""):
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=done, desc=desc or None, file=sys.stderr,
                         dynamic_ncols=True, leave=True)

    def advance(self, n=1):
        if self._bar is not None:
            self._bar.update(n)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _LogProgress(Progress):
    """Progress as INFO lines (rank 0, stderr not a terminal: a log file, a batch job): one at
    the start, then at most one every ``every`` seconds, and the last unit."""

    def __init__(self, task: str, every: float = 10.0):
        self.task, self.every = task, every
        self.total = self.done = 0
        self.desc = ""
        self.t0 = self.last = 0.0

    def start(self, total, done=0, desc=""):
        self.total, self.done, self.desc = int(total), int(done), desc or "units"
        self.t0 = self.last = time.perf_counter()
        log.info("progress: %s: %d of %d %s done", self.task, self.done, self.total, self.desc)

    def advance(self, n=1):
        self.done += n
        now = time.perf_counter()
        if self.done >= self.total or now - self.last >= self.every:
            self.last = now
            log.info("progress: %s: %d of %d %s done (%.1f s)", self.task, self.done, self.total, self.desc,
                     now - self.t0)


# ------------------------------------------------------------------------------ signals


class _Signals:
    """SIGINT (Ctrl-C) and SIGTERM, handled alike.

    While ``graceful`` (a checkpointing task is running) the first signal only sets a flag:
    the scan stops after its current point with a checkpoint.  Otherwise, and on the second
    signal, the handler raises :class:`_Interrupt` at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: list[str] = []
        self.graceful = False
        self._old: dict = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread (run() in a thread: none)
        for sig in self.SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self.graceful and len(self.received) == 1:
            log.info("%s: stopping after the current scan point with a checkpoint (signal again to stop at once)",
                     name)
            return
        raise _Interrupt(name, len(self.received))

    @property
    def requested(self) -> bool:
        return bool(self.received)


# ------------------------------------------------------------------------------ config


def _load(args) -> Config:
    """:func:`load_config`, with every way a value can fail to parse as a ConfigError (Python
    refuses integers of more than 4300 digits, deeply nested arrays exhaust the recursion)."""
    for text in args.overrides:
        try:
            parse_override(text)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"-o {_shorten(text)}", f"cannot read the value: {_first_sentence(exc)}") from None
    try:
        return load_config(args.config, args.overrides, output=args.output)
    except ConfigError:
        raise
    except (ValueError, RecursionError, OverflowError) as exc:
        raise ConfigError(str(args.config), f"cannot read it: {_first_sentence(exc)}") from None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _first_sentence(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split(";")[0].split("\n")[0]


#: the unit or meaning of every key, for --show-config ("" for keys that are not numbers)
_KEY_NOTES = {
    "model.delta": "sublattice gap delta (t)",
    "model.t": "hopping, the unit of energy (t)",
    "drive.omega0": "drive frequency omega0 (t)",
    "drive.Omega": "Rabi amplitude Omega (t)",
    "drive.pattern": "which k the light drives",
    "baths.kind": "paper | quasi_thermal",
    "baths.Gamma1": "amplitude decay rate of band 1 (t)",
    "baths.Gamma2": "amplitude decay rate of band 2 (t)",
    "baths.Gamma12": "pair decoherence rate Gamma12 (t)",
    "baths.mu": "bath chemical potential mu (t)",
    "baths.mu2": "band-2 chemical potential of K+ (t)",
    "baths.reading": "how mu2 is measured: lab (from mid-gap) | band_edge",
    "baths.temperature": "bath temperature T (t, k_B = 1)",
    "interaction.V": "intravalley coupling V (t)",
    "interaction.Vprime": "|V'|, intervalley coupling (t)",
    "interaction.phi": "phase of V' (radians)",
    "scan.parameter": "the swept parameter",
    "output.path": "the results file",
    "output.checkpoint": "scans write the file after every point",
    "numerics.mesh": "the k-sum mesh",
    "numerics.nk": "Monkhorst-Pack points per axis",
    "numerics.n_resonance": "Gauss points on the resonance panel",
    "numerics.n_band": "tanh-sinh points per band panel",
    "numerics.shell_resolution": "panel length in the shell (units of Gamma)",
    "numerics.shell_order": "Gauss points per shell panel",
    "numerics.refine_level": "polar refinement level s (48 s^2 points)",
    "numerics.polar_resolution": "panel length along the rays (units of Gamma)",
    "numerics.polar_order": "Gauss points per ray panel",
    "numerics.polar_angles": "Gauss angles per 120-degree sector",
    "numerics.n_per_panel": "frequency points per panel of the quadrature route",
    "numerics.routes": "how chi is computed",
    "numerics.criteria": "paper (Re chi at nu = 0) | full (growth rates)",
    "numerics.v_values": "|V'| values (t)",
    "numerics.nu_per_panel": "points per panel of the nu grid",
    "numerics.nu_span": "half-width of the nu grid (units of Gamma + 2 Omega + 2 T)",
    "numerics.V_max": "range |V| <= V_max of the full criterion (t)",
    "numerics.certify": "refine until two levels agree",
    "numerics.tolerance": "certification tolerance (relative to max(|V_c|, t))",
    "numerics.max_level": "refinement levels 0..max_level",
    "numerics.route": "born_markov | keldysh",
    "numerics.tol": "accepted relative residual",
    "numerics.max_nfev": "function evaluations of the gap solver",
    "numerics.grid_points": "k points per axis",
    "numerics.n_cut": "k points on the cut",
    "numerics.n_omega": "frequencies",
    "numerics.omega_halfwidth": "frequency window +- omega_halfwidth (t)",
    "numerics.cut_halfwidth": "k range around the resonance (1/a, a the C-C distance)",
    "numerics.V_window": "[V_lo, V_hi]: the window of V whose bifurcation points are continued (t)",
    "numerics.branch_routes": "routes of the branches: born_markov (with stability) | keldysh",
    "numerics.criterion_on_shell": "the full criterion on the resonance-shell mesh",
    "numerics.a0": "first amplitude of a branch (units of Gamma1 + Gamma2)",
    "numerics.ds": "arclength step",
    "numerics.ds_max": "largest arclength step",
    "numerics.max_points": "points per branch",
    "numerics.sigma": "stability counting line Re lambda = -sigma 2 min Gamma",
    "numerics.n_checks": "time-integration checks per branch",
    "numerics.check_tol": "tolerance of the time-integration checks",
    "numerics.check_t_max": "time span of a check (1/t)",
    # task threshold (laboratory units, solvers.app.config.material)
    "material.name": "MoS2 | WS2 | MoSe2 | WSe2 (Xiao et al. 2012)",
    "material.gap": "override of Delta (energy)",
    "material.spin_splitting": "override of 2 lambda (energy)",
    "material.lattice_constant": "override of a (length)",
    "material.dirac_hopping": "override of Xiao's t, hbar v = a t (energy)",
    "material.hbar_v": "override of hbar v (energy x length)",
    "drive.photon_energy": "photon energy (energy)",
    "drive.detuning": "photon energy above the A transition Delta - lambda (energy)",
    "drive.max_intensity": "the search stops here (intensity, I = c eps0 E0^2)",
    "drive.max_field": "the search stops here (peak field of circular light)",
    "drive.min_intensity": "the lowest intensity tried (intensity)",
    "drive.min_field": "the lowest peak field tried",
    "baths.linewidth": "hbar Gamma_a, HWHM of the spectral function, both bands (energy)",
    "baths.lifetime": "population lifetime tau = hbar / (2 hbar Gamma_a) (time)",
    "interaction.V_over_bandwidth": "V / W, W the width of one band of the lattice model",
    "interaction.Vprime_over_bandwidth": "|V'| / W",
    "numerics.paper_route": "route of the paper criterion (paper: Eq. 13)",
    "numerics.full_route": "route of the full criterion",
    "numerics.points_per_decade": "bracket grid in intensity",
    "numerics.rel_tolerance": "relative tolerance of the threshold (bisection to 1/4 of it)",
}
#: task threshold: keys whose meaning differs from the engine-unit tasks
_THRESHOLD_NOTES = {
    "drive.pattern": "circular | circular-abs | dichroic | valley",
    "baths.temperature": "bath temperature (temperature)",
    "baths.mu": "chemical potential from the middle of the A gap (energy)",
    "interaction.V": "intravalley coupling V (energy x unit cell)",
    "interaction.Vprime": "|V'| (energy x unit cell)",
    "numerics.V_max": "range |V| <= V_max of the full criterion (t)",
}
_SCAN_UNITS = {"Omega_over_Gamma": "Omega / Gamma, Gamma = Gamma1 + Gamma2", "Omega": "t", "omega0": "t",
               "detuning": "omega0 - delta, t", "mu2": "t", "delta": "t"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _given(raw: dict, table: str | None, key: str) -> bool:
    node = raw if table is None else raw.get(table)
    return isinstance(node, dict) and key in node


def show_config(cfg: Config, raw: dict, source: str = "") -> str:
    """The resolved config of ``cfg`` as TOML: every default filled in and marked, the unit
    (or meaning) of every key as a comment; ``raw`` is the parsed file with the overrides
    applied (to tell given keys from defaults).  ``tomllib.loads`` of it gives back a config
    equal to ``cfg``."""
    resolved = cfg.resolved()
    lines = [f"# {PROG} --show-config {source}".rstrip(),
             "# the resolved configuration: every default filled in ('default'), energies in units of t",
             "# (hbar = k_B = 1), momenta in 1/a with a the C-C (nearest-neighbour) distance"]
    if cfg.task == "threshold":
        lines[1:] = ["# the resolved configuration: every default filled in ('default'); laboratory units,",
                     "# every quantity a string with its unit (numerics in engine units)"]
    notes = {**_KEY_NOTES, **(_THRESHOLD_NOTES if cfg.task == "threshold" else {})}

    def entry(table: str | None, key: str, value: Any) -> str:
        dotted = f"{table}.{key}" if table else key
        note = notes.get(dotted, "")
        if dotted in ("scan.values", "scan.start", "scan.stop"):
            unit = (cfg.scan.unit or "ratio") if cfg.task == "threshold" else _SCAN_UNITS.get(resolved['scan']['parameter'], '')
            note = f"values of the scanned parameter ({unit})"
        generator = raw.get("scan") if dotted == "scan.values" and not _given(raw, table, key) else None
        if isinstance(generator, dict):
            given = ", ".join(f"{k} = {_toml_value(generator[k])}" for k in ("start", "stop", "num", "log")
                              if k in generator)
            note = f"{note}; from {given}"
        elif not _given(raw, table, key):
            note = f"{note}; default" if note else "default"
        text = f"{key} = {_toml_value(value)}"
        return f"{text:<34} # {note}" if note else text

    for key, value in resolved.items():
        if not isinstance(value, dict):
            lines.append(entry(None, key, value))
    for table, values in resolved.items():
        if isinstance(values, dict):
            lines += ["", f"[{table}]"] + [entry(table, key, value) for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _raw_config(args) -> dict:
    with open(args.config, "rb") as fh:
        raw = tomllib.load(fh)
    pairs = [parse_override(text) for text in args.overrides]
    if args.output is not None:
        pairs.append(("output.path", str(args.output)))
    return apply_overrides(raw, pairs)


# ------------------------------------------------------------------------------ memory

_GIB = 1024**3
#: resident size of a rank before any work (interpreter, numpy, numba, MPI), measured ~0.2 GiB
_BASE_BYTES = 320 * 1024**2
#: per k sample and route of the k-sum tasks (chi at every nu, chunked), measured 1.5-3.2 KiB
_BYTES_PER_SAMPLE = 4096
#: per grid point of the eta map (complex Bloch vectors and P+-), measured 245 B
_BYTES_PER_ETA_POINT = 320
#: per (k, omega) point of the spectral cut on its rank (4x4 complex G's), measured 760 B
_BYTES_PER_SPECTRAL_POINT = 1024


def _mesh_samples(cfg: Config) -> tuple[float, str]:
    """Largest number of k samples of the level-0 mesh over the scan, and the key that sets it."""
    if cfg.task == "threshold":
        from solvers.app.tasks.threshold import mesh_samples_estimate

        return mesh_samples_estimate(cfg)
    choice = cfg.numerics.mesh
    kind = choice.KIND
    if kind == "monkhorst-pack":
        return choice.nk**2 / 2, "numerics.nk"
    if kind == "refined-polar":
        return 48.0 * choice.refine_level**2, "numerics.refine_level"
    if kind == "exact-dos":
        return float(choice.n_resonance + 4 * choice.n_band), "numerics.n_resonance"
    if kind in ("exact-dos-shell", "polar-shell"):
        from solvers.stability.grids import shell_half_window

        span = getattr(cfg.numerics, "nu_span", 8.0)
        values = cfg.scan_values()
        points = [None] if values.size == 0 else sorted({float(values[0]), float(values[-1])})
        worst = 0.0
        for value in points:
            system = cfg.system(value)
            gamma = float(system.baths.gamma[0].sum())
            lo, hi = system.model.band_edges()
            window = min(2 * shell_half_window(system, span), hi - lo)
            if kind == "exact-dos-shell":
                n = window / (choice.shell_resolution * gamma) * choice.shell_order + 240
            else:
                n = 3 * choice.polar_angles * (window / (choice.polar_resolution * gamma) * choice.polar_order + 24)
            worst = max(worst, n)
        key = "numerics.shell_resolution" if kind == "exact-dos-shell" else "numerics.polar_resolution"
        return worst, key
    return 0.0, "numerics.mesh"


def memory_estimate(cfg: Config, n_ranks: int = 1) -> tuple[float, str]:
    """(bytes per rank, the key that most sets it): a coarse upper estimate from the sizes of the
    config, calibrated on measured peak resident sizes (the constants above).

    eta-map: the grid (``grid_points``²) times the δ values; spectral: the cut times the
    frequencies (``n_cut`` x ``n_omega``, the cut split over the ranks); the k-sum tasks: the
    samples of the finest mesh (level ``max_level`` of the certification: 2^level times the
    level-0 mesh) times the routes, split over the ranks."""
    num = cfg.numerics
    if cfg.task == "eta-map":
        n_delta = max(1, cfg.scan_values().size)
        n2 = float(num.grid_points) ** 2
        return _BASE_BYTES + n2 * (_BYTES_PER_ETA_POINT + 32 * n_delta), "numerics.grid_points"
    if cfg.task == "spectral":
        local = math.ceil(num.n_cut / n_ranks)
        cells = float(num.n_omega) * (local * _BYTES_PER_SPECTRAL_POINT + num.n_cut * 4 * 8 * 4)
        return _BASE_BYTES + cells, "numerics.n_omega"
    if getattr(num, "mesh", None) is None:
        return float(_BASE_BYTES), ""
    samples, key = _mesh_samples(cfg)
    levels = 2.0 ** num.max_level if getattr(num, "certify", False) else 1.0
    if levels > 1 and samples * levels > 4 * samples:
        key = f"{key} (or numerics.max_level)"
    routes = len(getattr(num, "routes", ("one",)))
    per_rank = samples * levels * (128 + _BYTES_PER_SAMPLE * routes / n_ranks)
    return _BASE_BYTES + per_rank, key


def _memory_available() -> float | None:
    """Bytes this node can give the run: MemAvailable, capped by a cgroup memory limit; None
    if unknown."""
    found: list[float] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(float(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as fh:
                limit = fh.read().strip()
            if limit == "max" or float(limit) >= 2.0**60:
                continue
            with open(usage_file) as fh:
                usage = float(fh.read().strip())
            found.append(max(float(limit) - usage, 0.0))
        except (OSError, ValueError):
            continue
    return min(found) if found else None


def _memory_problem(cfg: Config, n_ranks: int, local_ranks: int, max_memory_gib: float | None) -> str | None:
    need, key = memory_estimate(cfg, n_ranks)
    available = max_memory_gib * _GIB if max_memory_gib is not None else _memory_available()
    log.debug("memory estimate %.3g GiB per rank, %d rank(s) on this node, available %s", need / _GIB,
              local_ranks, "unknown" if available is None else f"{available / _GIB:.3g} GiB")
    if available is None or need * local_ranks <= available:
        return None
    where = "given by --max-memory" if max_memory_gib is not None else "available on this node"
    ranks = f" x {local_ranks} ranks on this node" if local_ranks > 1 else ""
    now = ""
    if key and not key.startswith("numerics.mesh"):
        name = key.split(" ")[0]
        value = _lookup(cfg.resolved(), name)
        now = f" (now {json.dumps(value)})" if value != "<absent>" else ""
    change = f"lower {key}{now}" if key else "use a smaller config"
    more = " or run on more ranks" if cfg.task != "eta-map" else ""
    return (f"memory: the run needs about {need / _GIB:.3g} GiB per rank{ranks}, {available / _GIB:.3g} GiB "
            f"{where}: {change}{more} (or --max-memory GIB if the estimate is wrong)")


# ------------------------------------------------------------------------------ results


def _bad(value) -> int:
    """Number of NaN or infinite entries of a float/complex value (0 for other values)."""
    a = np.asarray(value)
    if a.dtype.kind not in "fc":
        return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def _first_bad(tree: dict, where: str, skip=()) -> str | None:
    for key, value in tree.items():
        path = f"{where}/{key}"
        if path in skip:
            continue
        if isinstance(value, dict):
            found = _first_bad(value, path, skip)
            if found:
                return found
        elif (n := _bad(value)):
            return f"{path}: {n} of {np.size(value)} values are NaN or infinite"
    return None


def nonfinite_results(task: str, output: dict) -> str | None:
    """Where a task's results are NaN or infinite although they must be finite (None if
    nowhere).  NaN is legitimate padding in several arrays, so the rule is per task:

    * eta-map: η may be NaN only at k = Γ (0/0; at most one point per map: an odd
      ``grid_points``); everything else finite;
    * spectral: the distribution -iG^</A is NaN where A < 1e-12 max A (by definition) and
      must be finite elsewhere; everything else finite;
    * phase-diagram: chi(0) of every route (``results/chi0``) at every completed scan point;
      V_c, ν_c, errors and the per-result statistics are NaN-padded (no boundary, not
      computed) and ``V_max`` is infinite for the paper criterion, so they are not checked;
    * gap: when it converged, Δ±, ν and the residual (a run that did not converge exits 3);
    * gap-map: the solutions of every branch (V, Δ±, ν, residual); the criterion's ν_c, the
      eigenvalues, growth rates and exponents are NaN-padded or NaN where not computed;
    * threshold: the point's parameters (``results/parameters``); a threshold is NaN where
      none was found (its ``status`` says why) and the evaluations are NaN-padded;
    * susceptibility and any other task: every float and complex value."""
    res = output.get("results") or {}
    if task == "eta-map" and "eta" in res:
        eta = np.asarray(res["eta"])
        per_map = (eta.size - np.count_nonzero(np.isfinite(eta))) / max(eta.shape[0], 1) if eta.ndim == 3 else 0
        if per_map > 1:
            return f"results/eta: {_bad(eta)} values are NaN or infinite (at most one per map, at k = Gamma)"
        return _first_bad(res, "results", skip=("results/eta",))
    if task == "spectral" and "A" in res and "distribution" in res:
        A = np.asarray(res["A"])
        dist = np.asarray(res["distribution"])
        if A.size and np.all(np.isfinite(A)):
            where = A >= 1e-12 * np.max(A)
            if (n := _bad(dist[where])):
                return f"results/distribution: {n} values are NaN or infinite where A >= 1e-12 max A"
        return _first_bad(res, "results", skip=("results/distribution",))
    if task == "phase-diagram":
        completed = np.asarray((output.get("history") or {}).get("completed", []), dtype=bool)
        chi = res.get("chi0")
        for route, chi0 in (chi.items() if isinstance(chi, dict) else ()):
            chi0 = np.asarray(chi0)
            rows = chi0[completed] if completed.shape == chi0.shape[:1] else chi0
            if (n := _bad(rows)):
                return f"results/chi0/{route}: {n} of {rows.size} values are NaN or infinite at completed points"
        return None
    if task == "threshold":
        return _first_bad(res.get("parameters") or {}, "results/parameters")
    if task == "gap-map":
        for key, g in sorted((res.get("branches") or {}).items()):
            pts = g.get("points", {}) if isinstance(g, dict) else {}
            found = _first_bad({k: pts[k] for k in ("V", "delta_plus", "delta_minus", "nu", "residual") if k in pts},
                               f"results/branches/{key}/points")
            if found:
                return found
        return None
    if task == "gap":
        if not res.get("converged"):
            return None
        return _first_bad({k: res[k] for k in ("delta_plus", "delta_minus", "nu", "residual") if k in res},
                          "results")
    return _first_bad(res, "results")


# ------------------------------------------------------------------------------ preflight


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    """Dotted key of the first difference between two JSON-like trees, None if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                return where
            found = _first_difference(a[key], b[key], where)
            if found is not None:
                return found
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return prefix
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{prefix}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return None if type(a) is type(b) and a == b else prefix
    return None if a == b else prefix


def _lookup(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.replace("[", ".[").split("."):
        if not part:
            continue
        try:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return "<absent>"
    return node


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _checkpoint_problem(loaded, n: int) -> str | None:
    """Structural checks of a phase-diagram file to resume from: the completed flags (boolean,
    one per scan point, agreeing with n_completed and history/completed), the scan length,
    and finite results at every completed point."""
    if loaded.finished:
        completed = np.ones(n, bool)
    else:
        ck = loaded.checkpoint
        if not isinstance(ck, dict) or "completed" not in ck:
            return "it has no /checkpoint/completed (not written by a scan checkpoint)"
        completed = ck["completed"]
        if not isinstance(completed, np.ndarray) or completed.dtype != bool:
            kind = completed.dtype if isinstance(completed, np.ndarray) else type(completed).__name__
            return f"/checkpoint/completed must be a boolean array (got {kind})"
        if completed.shape != (n,):
            return f"checkpoint has {completed.size} scan points, the config has {n}"
        for key, want in (("n_completed", int(completed.sum())), ("n_scan", n)):
            got = ck.get(key)
            if isinstance(got, bool) or not isinstance(got, int) or got != want:
                return f"/checkpoint/{key} is {got!r}, the completed flags say {want}"
        history = (loaded.history or {}).get("completed")
        if history is not None and not (isinstance(history, np.ndarray) and history.dtype == bool
                                        and np.array_equal(history, completed)):
            return "/history/completed disagrees with /checkpoint/completed"
    problem = nonfinite_results("phase-diagram", {"results": loaded.results, "history": {"completed": completed}})
    if problem:
        return f"{problem} (a completed point must be finite)"
    return None


def _resume_plan(cfg: Config, resume_path: str, out: str) -> dict:
    if not os.path.exists(resume_path):
        return {"error": f"--resume {resume_path}: no such file"}
    if os.path.isdir(resume_path):
        return {"error": f"--resume {resume_path}: is a directory"}
    try:
        loaded = io.load(resume_path)
    except (ValueError, OSError) as exc:
        return {"error": f"--resume {resume_path}: cannot resume from it: {exc}"}
    if not isinstance(loaded.config, dict):
        return {"error": f"--resume {resume_path}: cannot resume from it: its /config@config_json is not a "
                         f"JSON object (got a {type(loaded.config).__name__})"}
    if loaded.task != cfg.task:
        return {"error": f"--resume {resume_path}: written by task {loaded.task!r}, "
                         f"the config runs task {cfg.task!r}"}
    mine = {k: v for k, v in cfg.resolved().items() if k != "output"}
    theirs = {k: v for k, v in loaded.config.items() if k != "output"}
    diff = _first_difference(json.loads(json.dumps(mine)), theirs)
    if diff is not None:
        return {"error": f"--resume {resume_path}: its config differs at {diff} "
                         f"(file: {json.dumps(_lookup(theirs, diff))}, "
                         f"now: {json.dumps(_lookup(mine, diff))})"}
    if loaded.finished and _same_file(resume_path, out):
        return {"done": f"{resume_path} is already finished; nothing to do"}
    if cfg.task not in CHECKPOINTING_TASKS:
        return {"restart": f"task {cfg.task!r} does not checkpoint: running it again from the start"}
    problem = _checkpoint_problem(loaded, len(cfg.scan))
    if problem is None:
        try:
            state = scan_resume_state(loaded, len(cfg.scan))
            if cfg.task == "phase-diagram":
                from solvers.stability import point_from_tree

                for i in np.nonzero(state["completed"])[0]:
                    point_from_tree(state["results"], int(i), cfg.numerics.v_values)
            return {"resume": state}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            problem = f"malformed results ({type(exc).__name__}: {exc})" if not isinstance(exc, ValueError) \
                else str(exc)
    return {"error": f"--resume {resume_path}: cannot resume from it: {problem}"}


def _pathconf(directory: str, name: str, default: int) -> int:
    try:
        value = os.pathconf(directory, name)
    except (OSError, ValueError):
        return default
    return value if value and value > 0 else default


def _missing_dirs(absolute: str) -> tuple[str, list[str]]:
    """(the nearest existing ancestor of ``absolute``'s directory, the directories below it
    that do not exist yet, outermost first)."""
    missing: list[str] = []
    directory = os.path.dirname(absolute)
    while not os.path.lexists(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory, missing[::-1]


def _output_problem(out: str, config_path: str, overwrite: bool, resuming_in_place: bool) -> str | None:
    """What is wrong with the output path, checked before any work (None: nothing)."""
    if out.endswith(("/", os.sep)) or os.path.basename(out) in ("", ".", ".."):
        return f"--output {out}: names a directory, not a file (e.g. {out.rstrip('/' + os.sep) or '.'}/result.h5)"
    absolute = os.path.abspath(out)
    anchor, missing = _missing_dirs(absolute)
    name_max = _pathconf(anchor if os.path.isdir(anchor) else os.path.dirname(anchor) or "/", "PC_NAME_MAX", 255)
    path_max = _pathconf(anchor if os.path.isdir(anchor) else "/", "PC_PATH_MAX", 4096)
    length = len(os.fsencode(absolute)) + _SUFFIX_ROOM
    if length >= path_max:
        return (f"--output {_shorten(out)}: the path is {length - _SUFFIX_ROOM} bytes long (as an absolute path), "
                f"at most {path_max - _SUFFIX_ROOM - 1} allowed here")
    for part in [os.path.basename(d) for d in missing]:
        if len(os.fsencode(part)) > name_max:
            return (f"--output {_shorten(out)}: the directory name {_shorten(part, 30)} is "
                    f"{len(os.fsencode(part))} bytes, at most {name_max} allowed")
    name = os.path.basename(absolute)
    if len(os.fsencode(name)) + _SUFFIX_ROOM > name_max:
        return (f"--output {_shorten(out)}: the file name is {len(os.fsencode(name))} bytes, at most "
                f"{name_max - _SUFFIX_ROOM} allowed (room for the suffix .tmp-<pid> of the temp file)")
    if not os.path.isdir(anchor):
        return f"--output {_shorten(out)}: {anchor} is not a directory"
    if not os.access(anchor, os.W_OK | os.X_OK):
        return f"--output {_shorten(out)}: directory {anchor} is not writable"
    if os.path.lexists(out):
        if os.path.isdir(out):
            return f"--output {out}: is a directory"
        if _same_file(out, config_path):
            return f"--output {out}: is the config file of this run"
        if not resuming_in_place:
            if not overwrite:
                return f"--output {out}: exists (pass --overwrite to replace it, or --resume to continue it)"
            if not os.path.isfile(out) or (os.path.getsize(out) > 0 and not io.is_results_file(out)):
                return (f"--output {out}: exists and is not a keldysh results file; --overwrite only "
                        f"replaces results files (remove it yourself if it should go)")
    return None


def _preflight(cfg: Config, args, n_ranks: int, local_ranks: int) -> dict:
    """Rank 0: check the --resume file, the output path and the memory before any work.

    Returns {"error": str} or {"done": str} (nothing to do) or the plan ({"resume": state or
    None}, possibly "restart": a warning)."""
    out = cfg.output.path
    plan: dict[str, Any] = {"resume": None}
    resume_path = None
    if args.resume is not None:
        resume_path = out if args.resume is True else str(args.resume)
        plan.update(_resume_plan(cfg, resume_path, out))
        if "error" in plan or "done" in plan:
            return plan
    resuming_in_place = resume_path is not None and os.path.exists(out) and _same_file(resume_path, out)
    problem = _output_problem(out, str(args.config), args.overwrite, resuming_in_place)
    if problem is None:
        try:
            problem = _memory_problem(cfg, n_ranks, local_ranks, args.max_memory)
        except Exception as exc:  # noqa: BLE001 - an estimate that fails must not stop a run
            log.warning("memory estimate failed (%s: %s); not checked", type(exc).__name__, exc)
    if problem is not None:
        return {"error": problem}
    plan["first_write_overwrites"] = bool(args.overwrite or resuming_in_place)
    return plan


# ------------------------------------------------------------------------------ the claim


class _Claim:
    """The output, claimed by rank 0 before the work: the directories it had to create and the
    lock file ``<output>.lock`` (created exclusively; JSON: pid, host, start, argv)."""

    def __init__(self, out: str):
        self.out = out
        self.lock = f"{out}.lock"
        self.created: list[str] = []
        self.locked = False

    def acquire(self) -> str | None:
        """Create the missing directories and the lock; a problem (one line) or None."""
        _, missing = _missing_dirs(os.path.abspath(self.out))
        for directory in missing:
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue
            except OSError as exc:
                self.release()
                return f"--output {_shorten(self.out)}: cannot create the directory {directory}: {exc.strerror}"
            self.created.append(directory)
        for attempt in (0, 1):
            try:
                fd = os.open(self.lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                other = _read_lock(self.lock)
                if attempt == 0 and _lock_is_stale(other):
                    log.warning("%s: lock of a run that is gone (%s): taking it over", self.lock, _describe(other))
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.lock)
                    continue
                self.release()
                return (f"--output {self.out}: another run is writing it ({_describe(other)}); lock file "
                        f"{self.lock} (remove it if that run is gone)")
            except OSError as exc:
                self.release()
                return f"--output {_shorten(self.out)}: cannot create files next to it: {exc.strerror}"
            self.locked = True
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "argv": [PROG, *sys.argv[1:]]}
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(info, fh)
            except OSError as exc:
                self.release()
                return f"--output {_shorten(self.out)}: cannot write the lock file {self.lock}: {exc.strerror}"
            return None
        return None  # pragma: no cover - the loop returns

    def release(self) -> None:
        """Remove the lock, and the directories created if nothing was written into them."""
        if self.locked:
            with contextlib.suppress(OSError):
                os.unlink(self.lock)
            self.locked = False
        if not os.path.lexists(self.out):
            for directory in reversed(self.created):
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
        self.created = []


def _read_lock(path: str) -> dict:
    try:
        with open(path) as fh:
            info = json.load(fh)
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _lock_is_stale(info: dict) -> bool:
    """The lock was written on this host by a process that no longer runs: it does not exist,
    or it is a zombie (killed and not yet reaped, e.g. an MPI rank whose launcher was killed
    with it)."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return True
    except (OSError, IndexError):
        pass
    return False


def _describe(info: dict) -> str:
    if not info:
        return "unknown run: the lock file is empty or unreadable"
    argv = info.get("argv")
    command = " ".join(map(str, argv)) if isinstance(argv, list) else "?"
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, started {info.get('started', '?')}: "
            f"{_shorten(command, 120)}")


# ------------------------------------------------------------------------------ run


def run(argv: list[str] | None = None) -> int:
    """Everything but the process exit: returns the exit status (see the module docstring)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    signals = _Signals()
    signals.install()  # at once: a Ctrl-C during the start-up is one line too
    try:
        return _run(comm, sys.argv[1:] if argv is None else list(argv), signals)
    finally:
        signals.restore()


def _say_to(rank: int):
    def say(line: str, stream=None) -> None:
        if rank != 0:
            return
        stream = sys.stderr if stream is None else stream
        try:
            print(line, file=stream, flush=True)
        except BrokenPipeError:  # e.g. keldysh-run --check ... | head -1
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    return say


def _run(comm, argv: list[str], signals: _Signals) -> int:
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    say = _say_to(rank)
    parser = _parser()
    claim = None
    try:
        if any(a in ("-h", "--help") for a in argv):
            say(parser.format_help().rstrip("\n"), stream=sys.stdout)
            return EXIT_OK
        try:
            args = parser.parse_args(argv)
            if args.check and args.show_config:
                raise _UsageError("--check and --show-config: give one of them")
            if args.max_memory is not None and not (math.isfinite(args.max_memory) and args.max_memory > 0):
                raise _UsageError(f"--max-memory: must be a positive number of GiB (got {args.max_memory})")
        except _UsageError as exc:
            say(_error_line(f"{exc} (usage: {PROG} CONFIG.toml [options]; {PROG} --help)"))
            return EXIT_USAGE
        _setup_logging(rank, args.verbose)
        try:
            cfg = _load(args)
        except ConfigError as exc:
            say(_error_line(str(exc)))
            return EXIT_USAGE
        if args.check:
            say(json.dumps(cfg.resolved(), indent=2), stream=sys.stdout)
            need, _ = memory_estimate(cfg, size)
            log.info("memory estimate: about %.3g GiB per rank on %d rank(s)", need / _GIB, size)
            return EXIT_OK
        if args.show_config:
            say(show_config(cfg, _raw_config(args), str(args.config)).rstrip("\n"), stream=sys.stdout)
            return EXIT_OK
        local_ranks = 1
        if size > 1:
            node = comm.Split_type(MPI.COMM_TYPE_SHARED)
            local_ranks = node.Get_size()
            node.Free()
        if rank == 0:
            claim = _Claim(cfg.output.path)
            plan = _preflight(cfg, args, size, local_ranks)
            if "error" not in plan and "done" not in plan:
                problem = claim.acquire()
                if problem is not None:
                    plan = {"error": problem}
        else:
            plan = None
        if size > 1:
            plan = comm.bcast(plan, root=0)
        if "error" in plan:
            say(_error_line(plan["error"]))
            return EXIT_USAGE
        if "done" in plan:
            log.info("%s", plan["done"])
            return EXIT_OK
        return _work(comm, cfg, plan, signals, say, claim)
    except _Interrupt as stop:
        say(f"{PROG}: interrupted by {stop.signame} before the run started; nothing written")
        return _abort_or(comm, EXIT_INTERRUPTED, claim)
    finally:
        if claim is not None:
            claim.release()


def _abort_or(comm, status: int, claim: _Claim | None = None) -> int:
    """Under MPI a rank that stops alone would leave the others waiting in a collective: abort
    the job (after removing this rank's claim on the output, which the abort would skip)."""
    if comm.Get_size() > 1:
        if claim is not None:
            claim.release()
        sys.stderr.flush()
        time.sleep(0.5)  # let the launcher forward the message before the abort tears it down
        comm.Abort(status)
    return status


def _work(comm, cfg: Config, plan: dict, signals: _Signals, say, claim: _Claim | None) -> int:
    """The run itself, after the checks and the claim."""
    from mpi4py import MPI

    rank, size = comm.Get_rank(), comm.Get_size()
    if "restart" in plan:
        log.warning("%s", plan["restart"])
    if rank == 0:
        check_resolution(cfg)  # after the checks above: a usage error stays a one-line message

    from solvers.parallel import configure_threads

    configure_threads(comm)
    path = cfg.output.path
    resolved = cfg.resolved()
    log.info("%s on %d rank(s) -> %s", cfg.describe(), size, path)
    written = {"checkpoint": 0, "overwrite": plan.get("first_write_overwrites", False)}

    def write(output: dict, finished: bool) -> None:
        if rank != 0:
            return
        try:
            io.write_results(path, task=cfg.task, config=resolved, results=output["results"],
                             mesh=output.get("mesh"), grids=output.get("grids"), history=output.get("history"),
                             checkpoint=output.get("checkpoint") if not finished else None,
                             argv=sys.argv, n_ranks=size, finished=finished, overwrite=written["overwrite"])
        except OSError as exc:
            raise _WriteError(exc) from exc
        written["overwrite"] = True  # our own file from now on
        if not finished:
            written["checkpoint"] += 1

    checkpointing = cfg.task in CHECKPOINTING_TASKS
    hooks = None
    if checkpointing:
        def should_stop() -> bool:
            flag = np.array([1 if signals.requested else 0], dtype=np.int32)
            if size > 1:
                total = np.zeros(1, dtype=np.int32)
                comm.Allreduce(flag, total, op=MPI.MAX)
                flag = total
            return bool(flag[0])

        hooks = ScanHooks(resume=plan.get("resume"), checkpoint=lambda out: write(out, False),
                          should_stop=should_stop)

    if rank != 0:
        progress = Progress()
    else:
        progress = _TqdmProgress() if sys.stderr.isatty() else _LogProgress(cfg.task)
    t0 = time.perf_counter()
    try:
        signals.graceful = checkpointing
        try:
            output = TASKS[cfg.task](cfg, comm, progress, hooks)
        finally:
            signals.graceful = False
            progress.close()
        output.setdefault("history", {})
        if isinstance(output["history"], dict):
            output["history"]["wall_seconds"] = time.perf_counter() - t0
        problem = nonfinite_results(cfg.task, output)
        if problem is not None:
            write(output, finished=False)
            say(_error_line(f"the computation produced non-finite values: {problem}; written to {path} with "
                            f"finished = False for inspection"))
            if size > 1:
                comm.Barrier()
            return EXIT_NONFINITE
        write(output, finished=True)
    except Interrupted as stopped:
        name = signals.received[0] if signals.received else "a signal"
        say(f"{PROG}: interrupted by {name}: {stopped}; checkpoint in {path} (finished = False), "
            f"continue with --resume")
        return EXIT_INTERRUPTED
    except _Interrupt as stop:
        if checkpointing and written["checkpoint"]:
            what = f"stopped at once; the last checkpoint is in {path} (finished = False), continue with --resume"
        elif checkpointing:
            what = "stopped at once, before the first checkpoint; nothing written"
        else:
            what = f"task {cfg.task!r} does not checkpoint; nothing written"
        again = " (twice)" if stop.count > 1 else ""
        say(f"{PROG}: interrupted by {stop.signame}{again}: {what}")
        return _abort_or(comm, EXIT_INTERRUPTED, claim)
    except _WriteError as failed:
        exc = failed.__cause__
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
        say(_error_line(f"writing {path} failed: {reason}; the previous file at that path (if any) is "
                        f"untouched and no temp file is left"))
        return _abort_or(comm, EXIT_ERROR, claim)
    except Exception as exc:  # noqa: BLE001 - every failure ends the job loudly
        log.error("rank %d of %d failed: %s: %s", rank, size, type(exc).__name__, exc, exc_info=True)
        return _abort_or(comm, EXIT_ERROR, claim)
    if size > 1:
        comm.Barrier()  # nobody leaves before rank 0 has written
    if cfg.task == "gap" and not output["results"]["converged"]:
        log.warning("gap: %s (results written to %s, exit status 3)", output["results"]["reason"], path)
        return EXIT_NOT_CONVERGED
    log.info("finished in %.1f s: %s", time.perf_counter() - t0, path)
    return EXIT_OK


def _terminate(status: int) -> None:
    """End the process with ``status``.

    Under ``python -m mpi4py`` a SystemExit with a non-zero code makes every rank call
    MPI_Abort (and MPICH prints an "Abort(...)" line per rank); a clean MPI_Finalize and
    ``os._exit`` give the same status without that noise."""
    logging.shutdown()
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.Finalize()
    if status:
        os._exit(status)


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``keldysh-run``, ``python -m solvers``)."""
    status = run(argv)
    _terminate(status)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
