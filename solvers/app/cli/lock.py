"""The claim on the output: the directories created for it and the lock file ``<output>.lock``."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys

from solvers.app.cli.config_view import _shorten
from solvers.app.cli.parser import PROG, log
from solvers.app.cli.preflight import _missing_dirs


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
