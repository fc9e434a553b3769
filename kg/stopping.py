"""SIGTERM stops a command as Ctrl-C does.

`kill`, a service manager or a CI timeout sends SIGTERM, whose default ends the process at
once: no `finally` block runs, so a build would leave its workers and staging folder, and a
server its worker processes. Inside `sigterm_as_interrupt()` it raises Terminated instead, a
KeyboardInterrupt, so that the same clean-up runs as on Ctrl-C (the command line then says
"terminated" and exits 143).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (see the module docstring)."""


def _raise_terminated(signum, frame):
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises Terminated while inside; the handler before is put back on leaving. Off the
    main thread (where handlers cannot be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
