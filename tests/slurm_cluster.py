"""A real, private, single-node SLURM cluster for tests, started from Debian's packages.

    ok, reason = SlurmCluster.available()
    with SlurmCluster() as cluster:
        done = cluster.sbatch_wait("job.sbatch", "arg", env={"X": "1"}, timeout=120)

What it does, all under one temporary directory that is removed on exit:

* munge: a private ``munged --foreground`` with its own key and socket (``AuthType=auth/munge``,
  ``AuthInfo=socket=...``); if munge is not installed or does not come up, it falls back to
  ``AuthType=auth/none`` / ``CredType=cred/none``.
* ``slurm.conf``: ``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none`` (no cgroups
  needed), ``MpiDefault=pmi2`` (``none`` if the pmi2 plugin is missing),
  ``SelectType=select/cons_tres``, free ports on 127.0.0.1, one node named after this host
  with ``CPUs = max(2, os.cpu_count())`` (``SlurmdParameters=config_overrides`` lets slurmd
  accept that), one default partition, ``SlurmUser=root``; pid files, state, spool and logs
  in the temporary directory.
* ``slurmctld -D -f CONF`` and ``slurmd -D -N NODE -f CONF`` are started by hand (no systemd)
  as child processes in their own sessions; clients get ``SLURM_CONF``. Startup waits until
  ``sinfo`` shows the node idle (``startup_timeout``, ~30 s), else raises with the log tails.
* On exit: cancels remaining jobs, waits for them to leave the queue, then stops the daemons
  by PID (the Popen children, and the pids in the pid files if they differ), then munged, and
  removes the directory.

This needs root: slurmd must run jobs as the submitting user and the daemons want to own their
state. ``available()`` says why not when it cannot work, so tests can skip with the reason.
"""
from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

logger = logging.getLogger(__name__)

_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_CLIENTS = ("sbatch", "sinfo", "squeue", "scancel", "scontrol")
_DAEMONS = ("slurmctld", "slurmd")
_PLUGIN_DIR_PATTERNS = (
    "/usr/lib/*/slurm-wlm",
    "/usr/lib/slurm-wlm",
    "/usr/lib64/slurm",
    "/usr/lib/slurm",
    "/usr/local/lib/slurm",
    "/usr/lib/*/slurm",
)
_INSTALL_HINT = (
    "Debian: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
)


def find_binary(name: str) -> str | None:
    """Path of a SLURM/munge binary on PATH or in the sbin directories (may lack in PATH)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return shutil.which(name, path=path)


def _plugin_dir() -> Path | None:
    for pattern in _PLUGIN_DIR_PATTERNS:
        for candidate in sorted(glob.glob(pattern)):
            if (Path(candidate) / "select_cons_tres.so").exists():
                return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path.name})"
    return "\n".join(text[-lines:])


class SlurmCluster:
    """A private single-node SLURM cluster; use as a context manager (see module doc)."""

    def __init__(self, *, cpus: int | None = None, startup_timeout: float = 30.0,
                 auth: str = "auto", keep_dir: bool = False):
        """
        Parameters
        ----------
        cpus : int, optional
            CPUs of the node; default ``max(2, os.cpu_count())`` so 2-rank jobs fit anywhere.
        startup_timeout : float
            Seconds to wait for the node to become idle.
        auth : {"auto", "munge", "none"}
            "auto" tries munge and falls back to auth/none.
        keep_dir : bool
            Keep the temporary directory (config, logs) after exit, for debugging.
        """
        if auth not in ("auto", "munge", "none"):
            raise ValueError(f"auth must be 'auto', 'munge' or 'none', got {auth!r}")
        self.cpus = cpus or max(2, os.cpu_count() or 1)
        self.startup_timeout = startup_timeout
        self.keep_dir = keep_dir
        self.cred_expire = 10
        self._auth_request = auth
        self.auth: str | None = None  # "munge" or "none" once started
        self.mpi_default: str | None = None
        self.node = socket.gethostname().split(".")[0] or "localhost"
        self.root: Path | None = None
        self.conf: Path | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._log_handles: list = []

    # ------------------------------------------------------------------ availability

    @staticmethod
    def available() -> tuple[bool, str]:
        """(True, "") if a cluster can be started here, else (False, the reason)."""
        if not hasattr(os, "geteuid"):
            return False, "SLURM needs a POSIX system"
        if os.geteuid() != 0:
            return False, f"starting slurmctld/slurmd needs root (running as uid {os.geteuid()})"
        missing = [name for name in (*_DAEMONS, *_CLIENTS) if find_binary(name) is None]
        if missing:
            return False, f"SLURM binaries not found: {', '.join(missing)} ({_INSTALL_HINT})"
        plugins = _plugin_dir()
        if plugins is not None:
            for plugin in ("select_cons_tres", "proctrack_linuxproc", "task_none"):
                if not (plugins / f"{plugin}.so").exists():
                    return False, f"SLURM plugin {plugin} missing in {plugins}"
        return True, ""

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        ok, reason = self.available()
        if not ok:
            raise RuntimeError(f"cannot start a SLURM cluster: {reason}")
        self.root = Path(tempfile.mkdtemp(prefix="keldysh-slurm-"))
        # munged refuses a socket in a directory that is not executable by all (mkdtemp: 0700).
        self.root.chmod(0o755)
        try:
            for sub in ("state", "spool"):
                (self.root / sub).mkdir()
            self.auth = self._start_auth()
            self.mpi_default = self._choose_mpi_default()
            self.conf = self.root / "slurm.conf"
            self.conf.write_text(self._slurm_conf())
            self._spawn("slurmctld", [find_binary("slurmctld"), "-D", "-f", str(self.conf)])
            self._spawn(
                "slurmd", [find_binary("slurmd"), "-D", "-N", self.node, "-f", str(self.conf)]
            )
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        logger.info("SLURM cluster up in %s (auth/%s, mpi/%s, %d CPUs)",
                    self.root, self.auth, self.mpi_default, self.cpus)

    def stop(self) -> None:
        """Cancel jobs, stop the daemons by PID, remove the directory. Safe to call twice."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            with contextlib.suppress(Exception):
                self._cancel_all_jobs()
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                self._terminate(name, proc.pid, proc)
            self._kill_from_pid_file(name, already_stopped=proc.pid if proc else None)
        for handle in self._log_handles:
            handle.close()
        self._log_handles.clear()
        if self.root is not None and not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # ------------------------------------------------------------------ clients

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for SLURM clients and jobs: ours, minus any outer job's SLURM_* vars."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))
        }
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = os.pathsep.join([env.get("PATH", ""), *_SBIN])
        env.update(extra or {})
        return env

    def run(self, *command: str, timeout: float = 30.0, check: bool = True,
            env: dict[str, str] | None = None, cwd=None) -> subprocess.CompletedProcess:
        """Run a SLURM client command (``sinfo``, ``squeue``, ...) against this cluster."""
        return subprocess.run(
            [find_binary(command[0]) or command[0], *command[1:]],
            env=self.env(env), cwd=cwd, capture_output=True, text=True,
            timeout=timeout, check=check,
        )

    def sbatch_wait(self, script, *args, env: dict[str, str] | None = None,
                    timeout: float = 300.0, options=(), cwd=None) -> subprocess.CompletedProcess:
        """``sbatch --wait [options] script args...``: submit and block until the job ends.

        The return code is the job's exit code. ``env`` is added to the submitting
        environment, which the job inherits (sbatch's default ``--export=ALL``); ``options``
        are extra sbatch options (they override the script's ``#SBATCH`` lines); ``cwd`` is
        the submit directory (the job's working directory).
        """
        return self.run(
            "sbatch", "--wait", *options, str(script), *map(str, args),
            timeout=timeout, check=False, env=env, cwd=cwd,
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of every daemon log, for error messages."""
        if self.root is None:
            return "(cluster directory removed)"
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out", "munged.out"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name} ---\n{_tail(path, lines)}")
        return "\n".join(parts)

    # ------------------------------------------------------------------ internals

    def _spawn(self, name: str, command: list) -> subprocess.Popen:
        out = open(self.root / f"{name}.out", "wb")
        self._log_handles.append(out)
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=self.env(), cwd=self.root, start_new_session=True,
        )
        self._procs[name] = proc
        return proc

    def _start_auth(self) -> str:
        if self._auth_request in ("auto", "munge"):
            reason = self._start_munge()
            if reason is None:
                return "munge"
            if self._auth_request == "munge":
                raise RuntimeError(f"munge requested but unavailable: {reason}")
            logger.warning("munge unavailable (%s); using AuthType=auth/none", reason)
        plugins = _plugin_dir()
        if plugins is not None and not (plugins / "auth_none.so").exists():
            raise RuntimeError(f"neither munge nor the auth/none plugin usable ({plugins})")
        return "none"

    def _start_munge(self) -> str | None:
        """Start a private munged; None on success, else why not."""
        munged = find_binary("munged")
        if munged is None:
            return "munged not installed"
        plugins = _plugin_dir()
        if plugins is not None and not (plugins / "auth_munge.so").exists():
            return f"no auth_munge plugin in {plugins}"
        key = self.root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._munge_socket = self.root / "munge.socket"
        self._spawn("munged", [
            munged, "--foreground", f"--socket={self._munge_socket}", f"--key-file={key}",
            f"--pid-file={self.root / 'munged.pid'}", f"--seed-file={self.root / 'munged.seed'}",
            f"--log-file={self.root / 'munged.log'}",
        ])
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self._procs["munged"].poll() is not None:
                reason = f"munged exited: {_tail(self.root / 'munged.out', 5)}"
                self._procs.pop("munged")
                return reason
            if self._munge_socket.exists():
                return None
            time.sleep(0.1)
        proc = self._procs.pop("munged")
        self._terminate("munged", proc.pid, proc)
        return "munged did not create its socket within 10 s"

    def _choose_mpi_default(self) -> str:
        plugins = _plugin_dir()
        if plugins is not None and (plugins / "mpi_pmi2.so").exists():
            return "pmi2"
        logger.warning("SLURM mpi/pmi2 plugin not found; using MpiDefault=none")
        return "none"

    def _slurm_conf(self) -> str:
        root = self.root
        # cred_expire also sets how long a requeued job waits before it may start again
        # (default 120 s); 10 s keeps requeue tests short and is ample on one node.
        if self.auth == "munge":
            auth = (
                "AuthType=auth/munge\nCredType=cred/munge\n"
                f"AuthInfo=socket={self._munge_socket},cred_expire={self.cred_expire}"
            )
        else:
            auth = (
                "AuthType=auth/none\nCredType=cred/none\n"
                f"AuthInfo=cred_expire={self.cred_expire}"
            )
        user = "root"  # available() requires root
        return textwrap.dedent(f"""\
            # Private single-node test cluster written by tests/slurm_cluster.py
            ClusterName=keldysh-test
            SlurmctldHost={self.node}(127.0.0.1)
            SlurmctldPort={_free_port()}
            SlurmdPort={_free_port()}
            SlurmUser={user}
            SlurmdUser={user}
            {{auth}}
            StateSaveLocation={root / "state"}
            SlurmdSpoolDir={root / "spool"}
            SlurmctldPidFile={root / "slurmctld.pid"}
            SlurmdPidFile={root / "slurmd.pid"}
            SlurmctldLogFile={root / "slurmctld.log"}
            SlurmdLogFile={root / "slurmd.log"}
            SlurmctldDebug=info
            SlurmdDebug=info
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            MpiDefault={self.mpi_default}
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            SchedulerType=sched/builtin
            SwitchType=switch/none
            JobCompType=jobcomp/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            SlurmdParameters=config_overrides
            ReturnToService=2
            MailProg=/bin/true
            KillWait=5
            NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
            PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
            """).replace("{auth}", auth)

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        state = ""
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with status {proc.returncode} during startup\n"
                        + self.log_tail()
                    )
            done = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%t", check=False)
            state = done.stdout.strip()
            if done.returncode == 0 and state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"SLURM node {self.node} not idle after {self.startup_timeout:.0f} s "
            f"(sinfo state {state!r})\n" + self.log_tail()
        )

    def _cancel_all_jobs(self, timeout: float = 20.0) -> None:
        jobs = self.run("squeue", "-h", "-o", "%A", check=False).stdout.split()
        if not jobs:
            return
        self.run("scancel", *jobs, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.run("squeue", "-h", "-o", "%A", check=False).stdout.split():
                return
            time.sleep(0.5)
        logger.warning("jobs still queued after scancel: %s", jobs)

    def _terminate(self, name: str, pid: int, proc: subprocess.Popen | None = None) -> None:
        """SIGTERM, then SIGKILL after 10 s, one PID."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if proc is not None:
            try:
                proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                logger.warning("%s (pid %d) ignored SIGTERM; killing it", name, pid)
                proc.kill()
                proc.wait()
            return
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _kill_from_pid_file(self, name: str, already_stopped: int | None) -> None:
        """Stop a daemon whose pid file names another process than the one we started.

        With ``-D``/``--foreground`` the daemons do not fork, so this only acts if one
        re-executed itself. The pid is checked against /proc/PID/comm so that a stale file
        whose pid was reused by an unrelated process never gets that process killed.
        """
        if self.root is None:
            return
        try:
            pid = int((self.root / f"{name}.pid").read_text().split()[0])
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            return
        if pid in (already_stopped, os.getpid()) or pid <= 1 or comm != name[:15]:
            return
        self._terminate(name, pid)
