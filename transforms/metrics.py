"""Beam Metrics counters under one namespace, read back by the run summary."""

from __future__ import annotations

from typing import TypeVar

from apache_beam.metrics import Metrics

NAMESPACE = "article_enrich"
T = TypeVar("T")


def count(element: T, name: str, amount: int = 1) -> T:
    """Increment counter `name` and pass the element through."""
    Metrics.counter(NAMESPACE, name).inc(amount)
    return element
