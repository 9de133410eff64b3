"""SIGINT and SIGTERM during a run: a checkpoint first in a scan, else stop at once."""
from __future__ import annotations

import signal
import threading

from solvers.app.cli.parser import _Interrupt, log


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
