"""One glibc malloc arena for the command and the worker processes it starts: less memory lost to fragmentation."""

from __future__ import annotations

import ctypes
import os

ARENAS_VARIABLE = "MALLOC_ARENA_MAX"
ARENAS = 1
_M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (malloc.h)


def limit_arenas(arenas: int = ARENAS) -> None:
    """Limit glibc's malloc arenas in this process and in the processes it starts, unless the user set a limit.

    glibc gives threads that allocate at the same time arenas of their own, up to 8 per core, and memory freed
    in one arena is not reused by another. The DirectRunner's gRPC threads move every shuffle through such
    arenas: at 10,000 Reuters articles the launcher peaked at 366 MiB with them and 266 MiB with one arena,
    the workers at 442-480 MiB and 407-411 MiB, in the same time (benchmarks/README.md). Workers the runner
    starts inherit the environment variable; this process, already started, is limited through `mallopt`.
    Other C libraries ignore both.
    """
    if ARENAS_VARIABLE in os.environ:
        return
    os.environ[ARENAS_VARIABLE] = str(arenas)
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no C library to open (Windows), or no mallopt in it
        return
    mallopt(_M_ARENA_MAX, arenas)
