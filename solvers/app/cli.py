"""``keldysh-run``: run one TOML config, serially or under MPI, into one HDF5 results file.

Usage::

    keldysh-run CONFIG.toml [-o KEY=VALUE ...] [--output FILE] [--resume [FILE]]
                            [--overwrite] [--check] [-v]
    python -m solvers CONFIG.toml ...                                 # the same
    mpiexec -n 4 python -m mpi4py -m solvers CONFIG.toml ...          # under MPI

``-o numerics.nk=64`` overrides a config key (the value is a TOML literal: ``-o
numerics.routes='["paper", "keldysh"]'``; anything that is not one is taken as a string).
``--output`` replaces ``output.path`` (default ``out/<config stem>.h5``).  ``--resume FILE``
continues the unfinished run in FILE (a phase-diagram scan keeps the points it completed);
``--resume`` alone resumes from the output file.  ``--check`` validates the config, prints the
resolved config as JSON and exits.

Exit status:

====  =====================================================================================
0     finished: the output file has ``finished = True``
1     an unexpected error (logged with its rank; under MPI the whole job is aborted)
2     bad command line or config, output exists without --overwrite, or an unusable --resume
      file: reported in one line on stderr before any work; no file is created or touched
3     gap task only: no converged nonzero solution; the file is still written
      (``finished = True``, ``results/converged = False``)
75    interrupted by SIGTERM (``EX_TEMPFAIL``): a phase-diagram scan wrote a checkpoint
      (``finished = False``) after its current point; continue it with ``--resume``
====  =====================================================================================

MPI: every rank reads and validates the config, runs the task on its share of the k points
and receives the same reduced numbers; only rank 0 logs at INFO (the others at WARNING) and
only rank 0 writes.  Other tasks than phase-diagram do not checkpoint: SIGTERM ends them at
once (SLURM's grace period is for scans).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from typing import Any

import numpy as np

from keldysh import io
from solvers.app.config import Config, ConfigError, check_resolution, load_config
from solvers.app.tasks import CHECKPOINTING_TASKS, TASKS, Interrupted, Progress, ScanHooks, scan_resume_state

__all__ = ["main", "run", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_NOT_CONVERGED", "EXIT_INTERRUPTED"]

log = logging.getLogger("keldysh-run")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_CONVERGED = 3
EXIT_INTERRUPTED = 75  # os.EX_TEMPFAIL: try again (with --resume)

PROG = "keldysh-run"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting (the caller prints on rank 0)."""

    def error(self, message):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Run one config of the Keldysh engine into an HDF5 results file.",
                epilog="exit status: 0 finished, 1 error, 2 usage/config error (nothing written), "
                       "3 gap not converged (file written), 75 interrupted by SIGTERM (checkpoint "
                       "written; rerun with --resume)")
    p.add_argument("config", help="TOML config file (see runs/)")
    p.add_argument("-o", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. -o numerics.nk=64 (repeatable)")
    p.add_argument("--output", metavar="FILE", help="results file (default: output.path of the config)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="FILE",
                   help="continue the unfinished run in FILE (default: the output file)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--check", action="store_true", help="validate, print the resolved config (JSON), exit")
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


def _preflight(cfg: Config, args) -> dict:
    """Rank 0: check the output and --resume files before any work.

    Returns {"error": str} or {"done": str} (nothing to do) or {"resume": state or None}."""
    out = cfg.output.path
    resume_path = None
    if args.resume is not None:
        resume_path = out if args.resume is True else str(args.resume)
    plan: dict[str, Any] = {"resume": None}
    if resume_path is not None:
        if not os.path.exists(resume_path):
            return {"error": f"--resume {resume_path}: no such file"}
        try:
            loaded = io.load(resume_path)
        except (ValueError, OSError) as exc:
            return {"error": f"--resume {resume_path}: cannot resume from it: {exc}"}
        if loaded.task != cfg.task:
            return {"error": f"--resume {resume_path}: written by task {loaded.task!r}, "
                             f"the config runs task {cfg.task!r}"}
        mine = {k: v for k, v in cfg.resolved().items() if k != "output"}
        theirs = {k: v for k, v in (loaded.config or {}).items() if k != "output"}
        diff = _first_difference(json.loads(json.dumps(mine)), theirs)
        if diff is not None:
            return {"error": f"--resume {resume_path}: its config differs at {diff} "
                             f"(file: {json.dumps(_lookup(theirs, diff))}, "
                             f"now: {json.dumps(_lookup(mine, diff))})"}
        if loaded.finished and _same_file(resume_path, out):
            return {"done": f"{resume_path} is already finished; nothing to do"}
        if cfg.task in CHECKPOINTING_TASKS:
            try:
                plan["resume"] = scan_resume_state(loaded, len(cfg.scan))
            except ValueError as exc:
                return {"error": f"--resume {resume_path}: cannot resume from it: {exc}"}
        else:
            plan["restart"] = f"task {cfg.task!r} does not checkpoint: running it again from the start"
    resuming_in_place = resume_path is not None and os.path.exists(out) and _same_file(resume_path, out)
    if os.path.lexists(out) and not args.overwrite and not resuming_in_place:
        return {"error": f"--output {out}: exists (pass --overwrite to replace it, or --resume to continue it)"}
    if os.path.isdir(out):
        return {"error": f"--output {out}: is a directory"}
    parent = os.path.dirname(os.path.abspath(out))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        return {"error": f"--output {out}: cannot create its directory: {exc.strerror}"}
    if not os.access(parent, os.W_OK):
        return {"error": f"--output {out}: directory {parent} is not writable"}
    return plan


def run(argv: list[str] | None = None) -> int:
    """Everything but the process exit: returns the exit status (see the module docstring)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    argv = sys.argv[1:] if argv is None else list(argv)

    def say(line: str, stream=sys.stderr) -> None:
        if rank == 0:
            print(line, file=stream, flush=True)

    parser = _parser()
    if any(a in ("-h", "--help") for a in argv):
        if rank == 0:
            parser.print_help()
        return EXIT_OK
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        say(f"usage: {parser.format_usage().split(':', 1)[1].strip()}")
        say(_error_line(str(exc)))
        return EXIT_USAGE
    _setup_logging(rank, args.verbose)

    try:
        cfg = load_config(args.config, args.overrides, output=args.output)
    except ConfigError as exc:
        say(_error_line(str(exc)))
        return EXIT_USAGE
    if args.check:
        say(json.dumps(cfg.resolved(), indent=2), stream=sys.stdout)
        return EXIT_OK

    plan = _preflight(cfg, args) if rank == 0 else None
    if size > 1:
        plan = comm.bcast(plan, root=0)
    if "error" in plan:
        say(_error_line(plan["error"]))
        return EXIT_USAGE
    if "done" in plan:
        log.info("%s", plan["done"])
        return EXIT_OK
    if "restart" in plan:
        log.warning("%s", plan["restart"])
    if rank == 0:
        check_resolution(cfg)  # after the checks above: a usage error stays a one-line message

    from solvers.parallel import configure_threads

    configure_threads(comm)
    path = cfg.output.path
    resolved = cfg.resolved()
    log.info("%s on %d rank(s) -> %s", cfg.describe(), size, path)

    def write(output: dict, finished: bool) -> None:
        if rank != 0:
            return
        io.write_results(path, task=cfg.task, config=resolved, results=output["results"],
                         mesh=output.get("mesh"), grids=output.get("grids"), history=output.get("history"),
                         checkpoint=None if finished else output.get("checkpoint"),
                         argv=sys.argv, n_ranks=size, finished=finished, overwrite=True)

    stop = {"requested": False}
    hooks = None
    old_handler = None
    if cfg.task in CHECKPOINTING_TASKS:
        def on_term(signum, frame):  # only sets a flag: the scan loop checks it between points
            stop["requested"] = True

        old_handler = signal.signal(signal.SIGTERM, on_term)

        def should_stop() -> bool:
            flag = np.array([1 if stop["requested"] else 0], dtype=np.int32)
            if size > 1:
                total = np.zeros(1, dtype=np.int32)
                comm.Allreduce(flag, total, op=MPI.MAX)
                flag = total
            return bool(flag[0])

        hooks = ScanHooks(resume=plan.get("resume"), checkpoint=lambda out: write(out, False),
                          should_stop=should_stop)

    progress = _TqdmProgress() if rank == 0 and sys.stderr.isatty() else Progress()
    t0 = time.perf_counter()
    try:
        try:
            output = TASKS[cfg.task](cfg, comm, progress, hooks)
        finally:
            progress.close()
        status = EXIT_OK
        if cfg.task == "gap" and not output["results"]["converged"]:
            status = EXIT_NOT_CONVERGED
        output.setdefault("history", {})
        if isinstance(output["history"], dict):
            output["history"]["wall_seconds"] = time.perf_counter() - t0
        write(output, finished=True)
    except Interrupted as stopped:
        log.warning("SIGTERM: %s; checkpoint in %s (finished=False), continue with --resume",
                    stopped, path)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every failure ends the job loudly
        log.error("rank %d of %d failed: %s: %s", rank, size, type(exc).__name__, exc, exc_info=True)
        if size > 1:
            sys.stderr.flush()
            time.sleep(0.5)  # let the launcher forward the message before the abort tears it down
            comm.Abort(EXIT_ERROR)
        return EXIT_ERROR
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    if size > 1:
        comm.Barrier()  # nobody leaves before rank 0 has written
    if status == EXIT_NOT_CONVERGED:
        log.warning("gap: %s (results written to %s, exit status 3)", output["results"]["reason"], path)
    else:
        log.info("finished in %.1f s: %s", time.perf_counter() - t0, path)
    return status


def _terminate(status: int) -> None:
    """End the process with ``status``.

    Under ``python -m mpi4py`` a SystemExit with a non-zero code makes every rank call
    MPI_Abort (and MPICH prints an "Abort(...)" line per rank); a clean MPI_Finalize and
    ``os._exit`` give the same status without that noise."""
    logging.shutdown()
    sys.stdout.flush()
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
