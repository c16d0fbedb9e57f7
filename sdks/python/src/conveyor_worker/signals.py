"""Graceful shutdown on SIGTERM (what Kubernetes and systemd send) and SIGINT (Ctrl-C)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Callable

log = logging.getLogger("conveyor_worker")


def stop_on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """Calls ``stop`` on the first SIGTERM/SIGINT; returns what puts the old handlers back.

    Only the main thread may install handlers: elsewhere this does nothing (stop the worker
    with ``Worker.stop()``). A second signal acts as it would without us (Ctrl-C twice
    interrupts).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("%s: finishing running attempts, then stopping", signal.Signals(signum).name)
        restore()
        stop()

    for sig in previous:
        signal.signal(sig, on_signal)
    return restore
