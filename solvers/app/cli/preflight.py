"""The checks before any work: the ``--resume`` file (the resume plan), the output path, the memory."""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from keldysh import io
from solvers.app.cli.config_view import _lookup, _shorten
from solvers.app.cli.memory import _memory_problem
from solvers.app.cli.parser import _SUFFIX_ROOM, log
from solvers.app.cli.results import nonfinite_results
from solvers.app.config import Config
from solvers.app.tasks import CHECKPOINTING_TASKS, scan_resume_state


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
