"""Cost of progress reporting per article (worker side) against a real run's time per article.

Usage: python benchmarks/bench_progress.py OUTPUT/run-summary.json
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time

from pipeline.progress import combine, read_states
from transforms.core.progress import ProgressReporter

ARTICLES = 200_000


def main(summary_path: str) -> None:
    with open(summary_path, encoding="utf-8") as handle:
        summary = json.load(handle)
    per_article_s = 1 / summary["progress"]["inputs_per_s"]
    with tempfile.TemporaryDirectory() as folder:
        reporter = ProgressReporter(folder)
        reporter.start()
        raw = io.BytesIO(b"x" * 4096)
        started = time.perf_counter()
        for _ in range(ARTICLES):  # one file per article, as for .txt corpora: the most reporting per article
            reporter.open_file(raw)
            reporter.input_read()
            reporter.file_done(4096)
        reporter.flush()
        worker_s = (time.perf_counter() - started) / ARTICLES
        started = time.perf_counter()
        for _ in range(1000):
            combine(read_states(folder))
        poll_s = (time.perf_counter() - started) / 1000
    print(f"run: {summary['progress']['inputs_per_s']} inputs/s -> {per_article_s * 1e3:.1f} ms per input")
    print(f"worker reporting: {worker_s * 1e6:.2f} us per input = {worker_s / per_article_s:.5%} of an input's time")
    print(f"launcher poll (every 0.5 s, in its own thread): {poll_s * 1e6:.0f} us = {poll_s / 0.5:.4%} of one core")
    print("file writes: at most one small file replace per worker per second (included above, 1 per 200k inputs)")


if __name__ == "__main__":
    main(sys.argv[1])
