"""The figures an evaluation hands to the quality gate (benchmarks/gate.py): one JSON object, name -> number."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="also write the figures, name -> number, to this JSON file")


def write(path: Path | None, figures: dict[str, float]) -> None:
    if path is not None:
        path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def share(count: int, total: int) -> float:
    """count / total rounded to 6 places (a floor written from it compares equal), 0 for no total."""
    return round(count / total, 6) if total else 0.0
