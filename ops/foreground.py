"""A supervised set-up in the foreground of a terminal: shows what happens until a signal, then stops it all.

Ctrl-C, SIGTERM and a closed terminal all end in the same ordered `Supervisor.stop()`,
which a second signal cannot interrupt (a half-done stop would orphan servers).
"""
from __future__ import annotations

import signal
import sys
import time
from typing import Any, Callable

from ops.display import TerminalDisplay
from ops.supervisor_run import Supervisor


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT), SIGTERM and a closed terminal (SIGHUP) all stop everything in order.

    SIGINT is set explicitly: a command started in the background of a script inherits it ignored.
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


def ignore_signals() -> None:
    """While stopping: a second Ctrl-C must not orphan a server."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def run_in_foreground(supervisor: Supervisor, banner: Callable[[], str], display: TerminalDisplay,
                      stopped_message: str) -> int:
    """Prints the banner, then what happens, until Ctrl-C, SIGTERM or SIGHUP; then stops everything."""
    stop_on_signals()
    try:
        print(banner(), flush=True)
        while True:
            display.poll()
            if supervisor.process is not None and supervisor.process.poll() is not None:
                print("supervisord itself stopped; see " + str(supervisor.log), file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        ignore_signals()
        print("Stopping …", flush=True)
        leftovers = supervisor.stop()
        if leftovers:
            print("killed what did not stop: " + ", ".join(leftovers), file=sys.stderr)
        print(stopped_message, flush=True)
