"""run-report.html: the run summary and the output files of a run (or of every incremental run) made readable."""

from __future__ import annotations

import datetime as dt
import heapq
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.buckets import store_problem
from pipeline.report_html import render
from pipeline.runs import latest_run, read_manifests
from pipeline.storage import matching, read_json, write_bytes
from transforms.core import layout
from transforms.core.entity_index import build_index, index_line
from transforms.core.records import to_json_line

TOP_ENTITIES = 10
DEAD_EXAMPLES = 3
SAMPLE_ARTICLES = 5
DUPLICATE_CLUSTERS = 10
DUPLICATE_EXAMPLES = 3
LENGTH_BINS = (0, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000)
log = logging.getLogger(__name__)


class ReportError(ValueError):
    """The folder holds no run to report on."""


class ReportData:
    """Everything the report shows, gathered in one pass over the summaries and output files.

    Memory stays bounded (counters, a few examples, the top index lines per label), except for the report of
    several incremental runs, whose entity index is recounted from their records' entity groups.
    """

    def __init__(self) -> None:
        self.summaries: list[dict[str, Any]] = []
        self.enriched = 0
        self.cleaning: Counter[str] = Counter()
        self.cleaned_articles: Counter[str] = Counter()
        self.mentions: Counter[str] = Counter()
        self.lengths: Counter[int] = Counter()
        self.length_max = 0
        self.length_total = 0
        self.languages: Counter[str] = Counter()
        self.clusters: dict[str, dict[str, Any]] = {}
        self.dead: Counter[tuple[str, str]] = Counter()
        self.dead_examples: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.sample: list[tuple[str, dict[str, Any]]] = []
        self.groups: Counter[str] = Counter()  # entity groups per label
        self._top: dict[str, list[dict[str, Any]]] = defaultdict(list)  # the leading index lines per label
        self.titles: dict[str, str | None] = {}
        self._wanted: set[str] = set()
        self._records_for_index: list[dict[str, Any]] | None = None

    def rebuild_index_from_records(self) -> None:
        """Several runs: their entity indexes may count records a later run superseded, so recount."""
        self._records_for_index = []

    def want_titles(self) -> None:
        """Keep, while the records pass, the titles of the example articles of the top entity groups."""
        if self._records_for_index is None:
            self._wanted = {i for top in self._top_entities().values() for e in top for i in e["examples"]}

    def add_record(self, record: dict[str, Any]) -> None:
        self.enriched += 1
        if record["id"] in self._wanted:
            self.titles[record["id"]] = record.get("title")
        for kind, count in (record.get("cleaning") or {}).items():
            self.cleaning[kind] += count
            self.cleaned_articles[kind] += 1
        for entity in record.get("entities") or ():
            self.mentions[entity["label"]] += 1
        chars = len(record.get("text") or "")
        self.lengths[sum(1 for edge in LENGTH_BINS[1:] if chars >= edge)] += 1
        self.length_max = max(self.length_max, chars)
        self.length_total += chars
        if record.get("language"):
            self.languages[record["language"]] += 1
        duplicate = record.get("duplicate")
        if isinstance(duplicate, dict) and int(duplicate.get("size") or 0) > 1:
            self._add_to_cluster(record, duplicate)
        entry = (
            record["id"],
            {
                "id": record["id"],
                "title": record.get("title"),
                "chars": chars,
                "entities": len(record.get("entities") or ()),
            },
        )
        self.sample = heapq.nsmallest(SAMPLE_ARTICLES, [*self.sample, entry], key=lambda item: item[0])
        if self._records_for_index is not None:
            groups = record.get("entity_groups") or []
            self._records_for_index.append({"id": record["id"], "title": record.get("title"), "entity_groups": groups})

    def _add_to_cluster(self, record: dict[str, Any], duplicate: dict[str, Any]) -> None:
        """A record of a cluster of two or more: the cluster is `near` if any member is, its examples the
        smallest ids (the same report whatever order the records come in)."""
        cluster = self.clusters.setdefault(str(duplicate["cluster"]), {"size": 0, "kind": None, "examples": []})
        cluster["size"] = max(cluster["size"], int(duplicate["size"]))
        if duplicate.get("kind") == "near" or cluster["kind"] == "near":
            cluster["kind"] = "near"
        elif duplicate.get("kind") == "exact":
            cluster["kind"] = "exact"
        examples = [*cluster["examples"], (record["id"], record.get("title") or "")]
        cluster["examples"] = sorted(examples)[:DUPLICATE_EXAMPLES]

    def add_dead_letter(self, record: dict[str, Any]) -> None:
        key = (record.get("stage") or "?", record.get("reason") or "?")
        self.dead[key] += 1
        if len(self.dead_examples[key]) < DEAD_EXAMPLES:
            source = record.get("source") or {}
            self.dead_examples[key].append(
                {"id": record.get("id"), "path": source.get("path"), "error": str(record.get("error"))[:300]}
            )

    def add_index_line(self, line: dict[str, Any]) -> None:
        """One line of the entity index; only the top lines per label are kept."""
        self.groups[line["label"]] += 1
        top = self._top[line["label"]]
        top.append(line)
        if len(top) >= 4 * TOP_ENTITIES:
            top[:] = heapq.nsmallest(TOP_ENTITIES, top, key=_by_articles)

    def rebuilt_index(self) -> list[dict[str, Any]]:
        """The entity index recounted from the records (after `rebuild_index_from_records`), once."""
        if self._records_for_index is None:
            return []
        lines = [index_line(key, stats) for key, stats in sorted(build_index(self._records_for_index).items())]
        for line in lines:
            self.add_index_line(line)
        self.titles = {record["id"]: record["title"] for record in self._records_for_index}
        self._records_for_index = None
        return lines

    def data(self) -> dict[str, Any]:
        """The renderer's input (pipeline/report_html.py)."""
        self.rebuilt_index()
        top_entities = {
            label: [{**e, "examples": [(i, self.titles.get(i)) for i in e["examples"]]} for e in top]
            for label, top in self._top_entities().items()
        }
        last = self.summaries[-1]
        counts = _sum_counts(summary.get("counts", {}) for summary in self.summaries)
        inputs = counts.get("inputs", 0)
        return {
            "title": last.get("output") if len(self.summaries) == 1 else _root(last.get("output", "")),
            "runs": [s.get("incremental", {}).get("run") or s.get("output") for s in self.summaries],
            "status": _status(self.summaries),
            "runner": last.get("runner"),
            "started_at": self.summaries[0].get("started_at"),
            "finished_at": last.get("finished_at"),
            "counts": counts,
            "invariant_ok": inputs == counts.get("enriched", 0) + counts.get("dead_letter", 0),
            "dead_letter_ratio": round(counts.get("dead_letter", 0) / inputs, 6) if inputs else 0.0,
            "dead_letters": [
                {"stage": stage, "reason": reason, "count": n, "examples": self.dead_examples[(stage, reason)]}
                for (stage, reason), n in self.dead.most_common()
            ],
            "cleaning": [(kind, total, self.cleaned_articles[kind]) for kind, total in self.cleaning.most_common()],
            "entity_labels": self._labels(),
            "top_entities": top_entities,
            "languages": self.languages.most_common(),
            "duplicates": self._duplicates(),
            "lengths": self._lengths(),
            "sample": [item for _, item in self.sample],
            "throughput": self._throughput(),
            "progress_samples": (last.get("progress") or {}).get("samples") if len(self.summaries) == 1 else None,
            "versions": last.get("versions") or {},
            "config": last.get("config"),
        }

    def _labels(self) -> list[tuple[str, int, int]]:
        return [(label, n, self.groups[label]) for label, n in self.mentions.most_common()]

    def _top_entities(self) -> dict[str, list[dict[str, Any]]]:
        order = [label for label, _ in self.mentions.most_common()] + sorted(set(self.groups) - set(self.mentions))
        return {
            label: heapq.nsmallest(TOP_ENTITIES, self._top[label], key=_by_articles)
            for label in order
            if self._top.get(label)
        }

    def _duplicates(self) -> dict[str, Any] | None:
        if not self.clusters:
            return None
        biggest = sorted(self.clusters.items(), key=lambda item: (-item[1]["size"], item[0]))[:DUPLICATE_CLUSTERS]
        return {
            "count": len(self.clusters),
            "articles": sum(c["size"] for c in self.clusters.values()),
            "by_kind": dict(Counter(c["kind"] or "?" for c in self.clusters.values())),
            "clusters": [{"cluster": key, **value} for key, value in biggest],
        }

    def _lengths(self) -> dict[str, Any]:
        if not self.enriched:
            return {"bins": [], "stats": {}}
        labels = [f"{LENGTH_BINS[i]:,}–{LENGTH_BINS[i + 1]:,}" for i in range(len(LENGTH_BINS) - 1)]
        labels.append(f"≥ {LENGTH_BINS[-1]:,}")
        return {
            "bins": [(label, self.lengths[i]) for i, label in enumerate(labels)],
            "stats": {"mean": round(self.length_total / self.enriched), "max": self.length_max},
        }

    def _throughput(self) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        seconds = sum(_wall_s(s) or 0 for s in self.summaries)
        inputs = _sum_counts(s.get("counts", {}) for s in self.summaries).get("inputs", 0)
        rows["wall time (s)"] = round(seconds, 1)
        rows["inputs per second, whole run"] = round(inputs / seconds, 2) if seconds else "-"
        if len(self.summaries) == 1:
            progress = self.summaries[0].get("progress") or {}
            rows["start-up: job start to first article read (s)"] = progress.get("startup_s", "- (not measured)")
            rows["inputs per second after start-up"] = progress.get("inputs_per_s", "- (not measured)")
            totals = progress.get("totals")
            if totals:
                rows["input files, bytes"] = f"{totals['files']:,} files, {totals['bytes']:,} bytes"
        return rows


def write_report(output: str, run: str | None = None) -> str:
    """Build `run-report.html` from a run's output folder (any Beam filesystem); returns where it was written.

    `output` is either one run's folder (it holds run-summary.json) or an incremental output folder: then the
    report covers every committed run, written to `output/run-report.html` with the entity index of every
    committed record (`output/entities.jsonl`), or only `run` (a `run=…` name or `latest`), written into that
    run's folder.
    """
    output = output.rstrip("/")
    if run is None and FileSystems.exists(f"{output}/{layout.SUMMARY}"):
        folders, data = [output], ReportData()
        target = output
    else:
        manifests = read_manifests(output)
        if not manifests:
            raise ReportError(f"{output}: neither a run-summary.json nor committed incremental runs (run=…/)")
        if run == layout.LATEST:
            run = latest_run(output)
        names = [m["run"] for m in manifests]
        if run is not None and run not in names:
            raise ReportError(f"{output}: no committed run {run!r} (runs: {', '.join(names)})")
        folders = [f"{output}/{run}"] if run else [f"{output}/{name}" for name in names]
        target = folders[0] if run else output
        data = ReportData()
    corpus = target == output and run is None and folders != [output]
    if corpus:
        data.rebuild_index_from_records()
    for folder in folders:
        _gather(folder, data, with_index=not corpus)
    if corpus:
        index = "".join(to_json_line(line) + "\n" for line in data.rebuilt_index())
        write_bytes(f"{output}/{layout.CORPUS_ENTITIES}", index.encode("utf-8"), mime_type="application/json")
    path = f"{target}/{layout.REPORT}"
    write_bytes(path, render(data.data()).encode("utf-8"), mime_type="text/html")
    log.info("run report written to %s", path)
    return path


def report_quietly(output: str, run: str | None = None) -> None:
    """Write run-report.html; a failure to write it is logged, and does not fail a run whose outputs are written."""
    problem = store_problem(output)
    if problem is not None:  # not Beam's retries, for minutes, on every file of the report
        log.warning("could not write run-report.html: the store of %s does not answer (%s)", output, problem)
        return
    try:
        write_report(output, run)
    except Exception as error:  # noqa: BLE001 - the records and summary are the run's result, the report a view
        log.warning(
            "could not write run-report.html (%s: %s); rebuild it with `article-enrich report %s`",
            type(error).__name__,
            error,
            output,
        )


def _gather(folder: str, data: ReportData, with_index: bool) -> None:
    data.summaries.append(read_json(f"{folder}/{layout.SUMMARY}"))
    if with_index:
        indexed = False
        for line in _records(layout.shard_glob(folder, layout.ENTITIES)):
            data.add_index_line(line)
            indexed = True
        if not indexed:  # an output written before the entity index existed
            data.rebuild_index_from_records()
    data.want_titles()
    for record in _records(layout.shard_glob(folder, layout.ENRICHED)):
        data.add_record(record)
    for record in _records(layout.shard_glob(folder, layout.DEAD_LETTER)):
        data.add_dead_letter(record)


def _records(pattern: str) -> Iterator[dict[str, Any]]:
    for meta in sorted(matching(pattern), key=lambda meta: meta.path):
        with FileSystems.open(meta.path, compression_type="uncompressed") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def _by_articles(line: dict[str, Any]) -> tuple[int, int, str]:
    return -line["articles"], -line["mentions"], line["name"]


def _status(summaries: list[dict[str, Any]]) -> str:
    """`succeeded` if every run did, else the first other status (`failed`, `interrupted`)."""
    return next((s.get("status") or "failed" for s in summaries if s.get("status") != "succeeded"), "succeeded")


def _sum_counts(counts: Iterable[dict[str, Any]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for item in counts:
        total.update({key: value for key, value in item.items() if isinstance(value, int)})
    return dict(total)


def _wall_s(summary: dict[str, Any]) -> float | None:
    try:
        start = dt.datetime.fromisoformat(summary["started_at"])
        end = dt.datetime.fromisoformat(summary["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def _root(run_output: str) -> str:
    return run_output.rsplit("/", 1)[0] if "/run=" in run_output else run_output
