"""The exit statuses, the argument parser and its help text, the exceptions of a run, the logging set-up."""
from __future__ import annotations

import argparse
import logging
import sys

from solvers.app.tasks import TASKS


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
