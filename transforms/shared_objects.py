"""What one process loads once and shares: between the DoFn instances of a job, and between the jobs it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from apache_beam.utils import shared

T = TypeVar("T")
_HANDLES: dict[str, shared.Shared] = {}
_LOCK = threading.Lock()


def acquire(key: str, load: Callable[[], T]) -> T:
    """This process's object for `key`, made by `load` the first time.

    Through `shared.Shared`, as Beam's own model handlers do, but under a handle fixed by `key` rather than one
    per DoFn: a job run in this process after another (watch batches, a small run's in-process worker) finds
    the model its launcher loaded, for as long as anything holds it.
    """
    with _LOCK:
        handle = _HANDLES.setdefault(key, shared.Shared())
    return handle.acquire(load, tag=key)
