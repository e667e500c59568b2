"""The run report, entity index, Parquet schema and progress logic, without Beam."""

from __future__ import annotations

import html
import html.parser
import io
import json
import time

import pyarrow as pa
import pytest

from pipeline.progress import ProgressMonitor, Snapshot, Totals, combine, eta_s, progress_line, share_done
from pipeline.report import ReportData
from pipeline.report_html import render
from transforms.core.arrow_schema import ENRICHED, parquet_row
from transforms.core.entity_index import EntityStats, build_index, index_line
from transforms.core.progress import READ, WRITTEN

from .conftest import SCHEMA

HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=\"alert(1)\">"


def _record(article_id: str, groups, **extra) -> dict:
    entities = [{"text": name, "label": label, "start": 0, "end": 1} for label, name, n in groups for _ in range(n)]
    mention, entity_groups = 0, []
    for label, name, n in groups:
        mentions = list(range(mention, mention + n))
        entity_groups.append({"name": name, "label": label, "count": n, "mentions": mentions, "title_mentions": []})
        mention += n
    return {
        "schema_version": "1.0",
        "id": article_id,
        "source": {"uri": f"/c/{article_id}.txt", "path": f"{article_id}.txt", "format": "txt", "bytes": 9},
        "title": extra.pop("title", None),
        "url": None,
        "date": None,
        "text": extra.pop("text", "Some text."),
        "metadata": {"k": [1, {"x": None}]},
        "cleaning": {"reflow_joins": 2},
        "entities": entities,
        "entity_groups": entity_groups,
        "model": {"name": "m", "version": "1"},
        **extra,
    }


def test_entity_index_counts_articles_mentions_and_smallest_examples():
    records = [
        _record("b", [("ORG", "Acme", 2), ("PERSON", "Ann Lee", 1)]),
        _record("a", [("ORG", "Acme", 1)]),
        _record("d", [("ORG", "Acme", 1), ("ORG", "Acme", 3)]),  # the same group twice is one article
        _record("c", [("ORG", "Acme", 1)]),
    ]
    index = build_index(records)
    assert index_line(("ORG", "Acme"), index[("ORG", "Acme")]) == {
        "name": "Acme",
        "label": "ORG",
        "articles": 4,
        "mentions": 8,
        "examples": ["a", "b", "c"],
    }
    assert index[("PERSON", "Ann Lee")].articles == 1
    left, right = EntityStats(), EntityStats()
    left.add("z", 1)
    right.add("y", 2)
    left.merge(right)
    assert (left.articles, left.mentions, left.examples) == (2, 3, ["y", "z"])


def test_arrow_schema_mirrors_the_json_schema_and_rows_convert():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert ENRICHED.names == list(schema["$defs"]["enriched"]["properties"])
    assert ENRICHED.field("source").type.names == list(schema["$defs"]["source"]["properties"])
    record = _record("a", [("ORG", "Acme", 2)])
    (row,) = pa.Table.from_pylist([parquet_row(record)], schema=ENRICHED).to_pylist()
    assert row["entity_groups"] == record["entity_groups"] and row["entities"] == record["entities"]
    assert json.loads(row["metadata"]) == record["metadata"] and dict(row["cleaning"]) == record["cleaning"]


def test_progress_sums_the_readers_and_the_sink():
    states = [
        {"role": READ, "files": 10, "bytes": 1000, "inputs": 10},
        {"role": READ, "files": 5, "bytes": 500, "inputs": 6},
    ]
    assert combine(states) == Snapshot(15, 1500, 16)
    assert combine([]) == Snapshot()
    assert eta_s(25, 100, 10.0) == 30.0 and eta_s(0, 100, 10.0) is None and eta_s(2, 2225, 20.0) is None
    line = progress_line(Snapshot(15, 1500, 16), Totals(100, 10_000, 0), 3.2, 95.0)
    expected = "article-enrich: progress 15/100 files (15%), 16 articles, 0 written (0%), 3.2 articles/s, ETA 0:01:35"
    assert line == expected
    # Articles wait for corpus-wide counts after reading: the run is as far as its reading times its writing.
    written = [*states, {"role": WRITTEN, "files": 0, "bytes": 0, "inputs": 4}]
    written.append({"role": WRITTEN, "files": 0, "bytes": 0, "inputs": 4})
    assert combine(written) == Snapshot(15, 1500, 16, written=8)
    assert share_done(Snapshot(50, 5000, 40, written=10), Totals(100, 10_000, 0)) == 0.125
    assert "10 written (12%)" in progress_line(Snapshot(50, 5000, 40, written=10), Totals(100, 10_000, 0), 1.0, None)
    assert "1.5 kB/10.0 kB (15%)" in progress_line(Snapshot(15, 1500, 16), Totals(100, 10_000, 10_000), 3.2, None)


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def hostile_report_data(languages: bool = True) -> dict:
    """Report data whose corpus strings all carry markup, with every optional section present."""
    data = ReportData()
    data.summaries.append(
        {
            "output": "/out",
            "status": "succeeded",
            "runner": "DirectRunner",
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:01:40+00:00",
            "counts": {"inputs": 4, "enriched": 3, "dead_letter": 1, "entities": 5},
            "versions": {"article_enrich": "0.1", "model": {"name": HOSTILE}},
            "config": {"input": HOSTILE},
            "progress": {"startup_s": 12.5, "inputs_per_s": 0.05, "samples": [[0, 0], [50, 2], [100, 4]]},
        }
    )
    for key, stats in build_index(_record(f"id{i}", [("ORG", HOSTILE, 1)]) for i in range(3)).items():
        data.add_index_line(index_line(key, stats))
    data.want_titles()
    extra = {"language": "en", "duplicate": {"cluster": HOSTILE, "size": 2, "kind": "near", "similarity": 0.9}}
    for i in range(3):
        fields = extra if languages else {}
        data.add_record(_record(f"id{i}", [("ORG", HOSTILE, 1), ("PERSON", "Ann", 1)], title=HOSTILE, **fields))
    dead = {"id": HOSTILE, "source": {"path": HOSTILE}, "stage": "read", "reason": HOSTILE, "error": HOSTILE}
    data.add_dead_letter(dead)
    return data.data()


def test_report_escapes_everything_from_the_corpus_and_draws_charts():
    page = render(hostile_report_data())
    parser = _Tags()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "img" not in tags
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    assert f'<li>{html.escape(HOSTILE)} <span class="id">id0</span></li>' in page  # an example article's title
    assert tags.count("svg") >= 5
    assert "Content-Security-Policy" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Articles per language" in page and "Duplicate clusters" in page
    assert "inputs 4 = enriched 3 + dead letters 1" in page


def test_report_skips_languages_and_duplicates_when_records_lack_them():
    page = render(hostile_report_data(languages=False))
    assert "Articles per language" not in page and "Duplicate clusters" not in page


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [_Terminal(), io.StringIO()], ids=["terminal", "log"])
def test_progress_monitor_shows_a_bar_on_a_terminal_and_lines_otherwise(stream):
    monitor = ProgressMonitor(Totals(files=4, bytes=400, stream_bytes=0), show=True, stream=stream).start()
    with open(f"{monitor.folder}/worker.json", "w", encoding="utf-8") as handle:
        json.dump({"role": READ, "files": 4, "bytes": 400, "inputs": 4}, handle)
    with open(f"{monitor.folder}/sink.json", "w", encoding="utf-8") as handle:
        json.dump({"role": WRITTEN, "files": 0, "bytes": 0, "inputs": 4}, handle)
    time.sleep(1.2)
    block = monitor.stop()
    shown = stream.getvalue()
    if isinstance(stream, _Terminal):
        assert "article-enrich: 100%|" in shown and "4/4" in shown and "4 articles" in shown
    else:
        assert shown.splitlines()[-1].startswith("article-enrich: progress 4/4 files (100%), 4 articles")
    assert block["totals"] == {"files": 4, "bytes": 400} and block["samples"][-1][1] == 4


def test_superseded_records_leave_an_older_runs_parquet_too(tmp_path):
    import pyarrow.parquet as pq

    from pipeline.runs import prune

    old = tmp_path / "run=1"
    old.mkdir()
    records = [_record("a", [("ORG", "Acme", 1)]), _record("b", [])]
    pq.write_table(pa.Table.from_pylist([parquet_row(r) for r in records], schema=ENRICHED), old / "enriched-0.parquet")
    (old / "enriched-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (old / "entities-0.jsonl").write_text('{"name": "Acme"}\n', encoding="utf-8")
    entry = {"size": 9, "checksum": "x"}
    manifest = {
        "run": old.name,
        "sequence": 1,
        "fingerprint": "f",
        "inputs": {"/c/a.txt": entry, "/c/b.txt": entry},
        "shards": ["enriched-0.jsonl", "enriched-0.parquet", "entities-0.jsonl"],
    }
    (old / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert prune(str(tmp_path), old.name, {"/c/a.txt"}) == 1
    assert [row["id"] for row in pq.read_table(old / "enriched-0.parquet").to_pylist()] == ["b"]
    assert [json.loads(line)["id"] for line in (old / "enriched-0.jsonl").read_text().splitlines()] == ["b"]
    assert (old / "entities-0.jsonl").read_text() == '{"name": "Acme"}\n'  # an index line names no input
