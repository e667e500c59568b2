"""Where one process's time goes, by stage: a py-spy raw profile of a run summed per stage of the pipeline."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# The first stage with a frame whose text contains one of its markers takes the sample (stacks are
# root-first, so the order settles nesting: titles and texts are both inside `tag_texts`).
NER = "NER (nlp.pipe, texts and titles)"
WAITING = "waiting threads"
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (WAITING, ("Condition.wait (threading", "Event.wait (threading")),
    (NER, ("tag_texts (transforms/core/entities.py",)),
    ("harmonisation, entity groups", ("transforms/core/entity_post.py",)),
    ("language identification", ("transforms/core/language.py", "identify_language.py")),
    ("cleaning", ("transforms/core/clean.py", "transforms/core/mojibake.py", "transforms/core/reflow.py")),
    ("corpus boilerplate", ("transforms/core/boilerplate.py", "strip_corpus_boilerplate.py")),
    ("deduplication", ("transforms/core/dedup.py", "cluster_duplicates.py")),
    ("reading, decoding", ("transforms/core/decode.py", "transforms/core/parse.py", "read_articles.py")),
    ("held files", ("hold_articles.py",)),
    ("writing records", ("write_enriched.py", "transforms/core/records.py")),
    ("entity index", ("index_entities.py", "transforms/core/entity_index.py")),
    ("report", ("pipeline/report",)),
    ("model load", ("load_ner_pipeline",)),
    ("imports", ("_find_and_load",)),
    ("Beam (bundles, coders, runner)", ("apache_beam/",)),
)
OTHER = "other"


def stage_of(stack: str) -> str:
    """The stage a sample's stack (py-spy's `frame;frame;…`, root first) belongs to."""
    return next((name for name, markers in STAGES if any(marker in stack for marker in markers)), OTHER)


def by_stage(lines: list[str]) -> Counter[str]:
    """Samples per stage from the lines of `py-spy record --format raw` (`stack count`)."""
    samples: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack:
            samples[stage_of(stack)] += int(count)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="the output of `py-spy record --format raw`")
    parser.add_argument("--rate", type=int, default=100, help="py-spy's sampling rate (-r), samples per second")
    args = parser.parse_args()
    samples = by_stage(args.profile.read_text(encoding="utf-8").splitlines())
    active = sum(samples.values()) - samples[WAITING]
    ner = samples[NER]
    print(f"{'stage':36s} {'seconds':>8s} {'% active':>9s} {'% of NER':>9s}")
    for name, count in samples.most_common():
        shares = ("", "") if name == WAITING else (f"{100 * count / active:.1f}%", f"{100 * count / ner:.1f}%")
        of_active, of_ner = shares
        print(f"{name:36s} {count / args.rate:8.1f} {of_active:>9s} {of_ner:>9s}")
    print(f"{'active (all but waiting threads)':36s} {active / args.rate:8.1f}")


if __name__ == "__main__":
    main()
