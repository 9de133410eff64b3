"""``run`` and ``main`` of ``keldysh-run``: parse, load, preflight, claim, run the task, write, exit status."""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time

import numpy as np

from keldysh import io
from solvers.app.cli.config_view import _load, _raw_config, show_config
from solvers.app.cli.lock import _Claim
from solvers.app.cli.memory import _GIB, memory_estimate
from solvers.app.cli.parser import (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NONFINITE, EXIT_NOT_CONVERGED, EXIT_OK,
                                    EXIT_USAGE, PROG, _error_line, _Interrupt, _parser, _setup_logging,
                                    _UsageError, _WriteError, log)
from solvers.app.cli.preflight import _preflight
from solvers.app.cli.progress import _LogProgress, _TqdmProgress
from solvers.app.cli.results import nonfinite_results
from solvers.app.cli.signals import _Signals
from solvers.app.config import Config, ConfigError, check_resolution
from solvers.app.tasks import CHECKPOINTING_TASKS, TASKS, Interrupted, Progress, ScanHooks


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
