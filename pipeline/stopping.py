"""How a job stops short of success: a failure, or a signal (SIGINT, SIGTERM) that interrupts it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class JobFailed(RuntimeError):
    """The job ran but did not finish cleanly, or its counts do not add up."""


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM) stopped the job."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupting_signal(interruption: KeyboardInterrupt) -> signal.Signals:
    """The signal behind an interruption: Interrupted says which, a plain KeyboardInterrupt is SIGINT's."""
    return signal.Signals(interruption.signum if isinstance(interruption, Interrupted) else signal.SIGINT)


@contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread while the block runs; the previous handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    with stop_signals_handled_by(interrupt):
        yield


@contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block has run (a commit is never cut in half), then interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    with stop_signals_handled_by(lambda signum, _frame: received.append(signum)):
        yield
    if received:
        raise Interrupted(received[0])


@contextmanager
def stop_signals_handled_by(handler: Callable[[int, object], None]) -> Iterator[None]:
    """`handler` takes SIGINT and SIGTERM while the block runs (in the main thread); the previous ones after."""
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler_before in previous.items():
            signal.signal(sig, handler_before)
