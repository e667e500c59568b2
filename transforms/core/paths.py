"""File paths on any Beam filesystem: local or not, absolute, and where a glob starts."""

from __future__ import annotations

import os
import re

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")


def is_local(path: str) -> bool:
    """A path without a scheme (`gs://`, `s3://`…) is on the local filesystem."""
    return _SCHEME.match(path) is None


def absolute(path: str) -> str:
    """Local paths made absolute (workers may run elsewhere); URIs with a scheme are left alone."""
    return os.path.abspath(path) if is_local(path) else path


def glob_start(pattern: str) -> int | None:
    """Where the first glob character (`*`, `?`, `[`) of a file pattern is, or None for a plain path."""
    found = _GLOB.search(pattern)
    return None if found is None else found.start()


def escape(path: str) -> str:
    """A file path as a Beam match pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)
