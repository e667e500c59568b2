"""Hostile inputs: every broken, huge or strange file becomes a record or a dead letter with its reason."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import re
import tracemalloc
from pathlib import Path

import pytest
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from transforms.core.clean import clean_text, compile_rules
from transforms.core.entities import char_batches, tag_texts
from transforms.core.parse import InputError, LimitedStream, ReadConfig, jsonl_articles, read_limited
from transforms.core.types import Article, Source
from transforms.match_files import match_files
from transforms.read_articles import _io_reason, _ReadFileFn

from .conftest import read_shards

GOOD = "Joe Biden met Elena Ruiz in Geneva on Monday.\n\nThey talked for an hour, Reuters said."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
SOURCE = Source(uri="/c/a.jsonl", path="a.jsonl", format="jsonl", bytes=0)


def _read(path: Path, base: Path, config: ReadConfig | None = None) -> list[tuple[str, object]]:
    """Run the reader's DoFn logic on one file: ("article", text) or ("dead", reason) per output."""
    config = config or ReadConfig()
    meta = FileMetadata(str(path), path.stat().st_size if path.exists() else 0)
    out = []
    for item in _ReadFileFn(str(base), config).process(fileio.ReadableFile(meta)):
        if isinstance(item, Article):
            out.append(("article", item.text))
        else:
            out.append(("dead", item.value.reason))
    return out


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("png.txt", PNG, [("dead", "binary_content")]),
        ("nul.txt", b"\x00\x01\x02\x03" * 100 + b"text", [("dead", "binary_content")]),
        ("truncated.txt.gz", gzip.compress(GOOD.encode() * 20)[:40], [("dead", "corrupt_file")]),
        ("truncated.txt.bz2", bz2.compress(GOOD.encode() * 20)[:40], [("dead", "corrupt_file")]),
        ("garbage.txt.gz", b"this is not gzip at all", [("dead", "corrupt_file")]),
        ("garbage.jsonl.bz2", b"BZh9 not bzip2 either", [("dead", "corrupt_file")]),
        ("empty.txt", b"", [("article", "")]),
        ("mixed.txt", "café ".encode() + "naïve".encode("cp1252"), [("article", "café naïve")]),
        ("blank.jsonl", b"\n  \n", [("dead", "empty_input")]),
        ("empty.json", b"[]", [("dead", "empty_input")]),
        ("bad.json", b"[1, {]", [("dead", "invalid_json")]),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, [("dead", "invalid_json")]),
    ],
)
def test_broken_files_become_dead_letters_with_their_reason(tmp_path, name, data, expected):
    (tmp_path / name).write_bytes(data)
    assert _read(tmp_path / name, tmp_path) == expected


def test_json_array_file_gives_one_article_per_object(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"text": "One."}, 7, {"text": ["x"]}, {"text": "Two."}]))
    assert _read(tmp_path / "a.json", tmp_path) == [
        ("article", "One."),
        ("dead", "not_an_object"),
        ("dead", "invalid_text"),
        ("article", "Two."),
    ]


def test_too_large_article_is_refused_without_reading_past_the_limit(tmp_path):
    (tmp_path / "big.txt").write_bytes(b"x" * 5000)
    assert _read(tmp_path / "big.txt", tmp_path, ReadConfig(max_article_bytes=1000)) == [("dead", "too_large")]

    class Counting(io.BytesIO):
        consumed = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.consumed += len(data)
            return data

    with pytest.raises(InputError):
        read_limited(Counting(b"y" * 10_000_000), 1000, "article")
    assert Counting.consumed == 1001


@pytest.mark.parametrize("suffix", [".gz", ".bz2"])
def test_decompression_bomb_stops_at_the_limit_in_bounded_memory(tmp_path, suffix):
    compress = gzip.compress if suffix == ".gz" else bz2.compress
    (tmp_path / f"bomb.txt{suffix}").write_bytes(compress(b"\0" * 40_000_000))
    good = b'{"text": "Kept."}\n'
    (tmp_path / f"bomb.jsonl{suffix}").write_bytes(compress(good + b"A" * 40_000_000))
    tracemalloc.start()
    try:
        txt = _read(tmp_path / f"bomb.txt{suffix}", tmp_path, ReadConfig(max_article_bytes=1_000_000))
        jsonl = _read(tmp_path / f"bomb.jsonl{suffix}", tmp_path, ReadConfig(max_decompressed_bytes=5_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert txt == [("dead", "too_large")]
    assert jsonl == [("article", "Kept."), ("dead", "too_large")]
    assert peak < 15_000_000


def test_limited_stream_counts_every_read():
    stream = LimitedStream(io.BytesIO(b"ab\ncd\nef\n"), 6)
    assert (stream.readline(), stream.read(3)) == (b"ab\n", b"cd\n")
    with pytest.raises(InputError, match="larger than 6 bytes"):
        stream.read()


def test_jsonl_duplicate_ids_keep_unique_ids_and_the_record_id():
    data = b'{"id": "dup", "text": "A."}\n{"id": "dup", "text": "B."}\n[]\n"s"\n{"text": null}\n'
    items = list(jsonl_articles(io.BytesIO(data), SOURCE, ReadConfig(max_article_bytes=1000)))
    articles = [item for item in items if isinstance(item, Article)]
    assert [a.source.record_id for a in articles] == ["dup", "dup"]
    assert len({a.id for a in articles}) == 2
    assert [(e.reason, e.line) for e in items if isinstance(e, InputError)] == [
        ("not_an_object", 3),
        ("not_an_object", 4),
        ("missing_text", 5),
    ]


def test_deleted_special_and_unreadable_files(tmp_path):
    gone = tmp_path / "gone.txt"
    assert _read(gone, tmp_path) == [("dead", "file_vanished")]
    os.mkfifo(tmp_path / "pipe.txt")  # opening a FIFO would block the worker forever
    assert _read(tmp_path / "pipe.txt", tmp_path) == [("dead", "not_a_file")]
    os.symlink("loop-b.txt", tmp_path / "loop-a.txt")
    os.symlink("loop-a.txt", tmp_path / "loop-b.txt")
    assert _read(tmp_path / "loop-a.txt", tmp_path) == [("dead", "broken_link")]
    os.symlink("nowhere.txt", tmp_path / "dangling.txt")
    assert _read(tmp_path / "dangling.txt", tmp_path) == [("dead", "broken_link")]
    assert _io_reason(PermissionError(13, "Permission denied")) == "unreadable"


def test_the_listing_keeps_broken_links_that_beams_own_drops(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "real.txt").write_text("Text.")
    os.symlink("real.txt", tmp_path / "sub" / "link.txt")
    os.symlink("nowhere.txt", tmp_path / "sub" / "dangling.txt")
    os.symlink("loop-b.txt", tmp_path / "loop-a.txt")
    os.symlink("loop-a.txt", tmp_path / "loop-b.txt")
    os.symlink("sub", tmp_path / "linked-sub")  # a link to a folder is not followed, as in Beam's listing
    pattern = f"{tmp_path}/**"
    beams = {Path(meta.path).name for meta in FileSystems.match([pattern])[0].metadata_list}
    ours = {Path(meta.path).name: meta.size_in_bytes for meta in match_files(pattern)}
    assert beams == {"real.txt", "link.txt"}
    assert ours == {"real.txt": 5, "link.txt": 5, "dangling.txt": 0, "loop-a.txt": 0, "loop-b.txt": 0}
    assert {Path(meta.path).name for meta in match_files(f"{tmp_path}/loop-*.txt")} == {"loop-a.txt", "loop-b.txt"}


def test_permission_denied(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(GOOD)
    secret.chmod(0)
    if os.access(secret, os.R_OK):
        # Root reads through chmod 000, and the venv's interpreter is not reachable by an unprivileged
        # user here; the PermissionError mapping is tested in test_deleted_special_and_unreadable_files.
        pytest.skip("running as root: file permissions do not apply")
    assert _read(secret, tmp_path) == [("dead", "unreadable")]


def test_huge_text_is_tagged_in_chunks_with_offsets_into_the_whole_text(tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    filler = "word " * 250_000  # 1.25M characters, above spaCy's max_length of 1,000,000
    text = "Joe Biden spoke. " + filler + "Geneva 🎉 𝔘 Budapest " + filler + "Elena Ruiz"
    assert len(text) > nlp.max_length
    (entities,) = tag_texts(nlp, [text], max_chunk_chars=100_000, batch_size=64)
    assert [e.text for e in entities] == ["Joe Biden", "Geneva", "Budapest", "Elena Ruiz"]
    assert all(text[e.start : e.end] == e.text for e in entities)
    assert entities[-1].end == len(text)


def test_batches_are_bounded_by_characters_and_documents():
    chunks = [(0, 0, 60), (0, 60, 120), (1, 0, 10), (2, 0, 10), (3, 0, 500)]
    assert [len(b) for b in char_batches(chunks, max_docs=2, max_chars=100)] == [1, 2, 1, 1]
    assert [len(b) for b in char_batches(chunks, max_docs=64, max_chars=1000)] == [5]


def test_offsets_are_python_code_points_with_emoji_and_right_to_left_text(tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    text = clean_text("👩‍👩‍👧 𝔘𝔫𝔦 שלום Geneva مرحبا Joe Biden").text
    (entities,) = tag_texts(nlp, [text], max_chunk_chars=100_000, batch_size=8)
    assert [(e.text, e.start, e.end) for e in entities] == [("Geneva", 15, 21), ("Joe Biden", 28, 37)]
    assert len(text[:15].encode("utf-16-le")) // 2 != 15  # not UTF-16 units


RULES = compile_rules([("ad_marker", r"\[ad_\d+\]"), ("source_link", r"source(?: link)?:?")])
HOSTILE_TEXT = st.lists(
    st.one_of(st.text(), st.sampled_from(["\x00", "\r\n", "\n", "\u2028", "â€", "Ã©", "\x9d", "[ad_1]", "\u200f"]))
).map("".join)


@settings(max_examples=150, deadline=None)
@given(HOSTILE_TEXT)
def test_cleaner_never_raises_and_is_idempotent(text):
    once = clean_text(text, RULES)
    assert clean_text(once.text, RULES).text == once.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_TEXT, HOSTILE_TEXT)
def test_entity_offsets_slice_to_their_text_after_cleaning(tiny_model, before, after):
    import spacy

    nlp = _load(tiny_model, spacy)
    text = clean_text(before + " Joe Biden in Geneva " + after, RULES).text
    for max_chars in (1000, 40):
        (entities,) = tag_texts(nlp, [text], max_chunk_chars=max_chars, batch_size=4)
        assert all(text[e.start : e.end] == e.text for e in entities)


_MODELS: dict[str, object] = {}


def _load(path: str, spacy):
    if path not in _MODELS:
        _MODELS[path] = spacy.load(path)
    return _MODELS[path]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=3000) | st.builds(lambda b: PNG[: len(b)] + b, st.binary(max_size=200)),
    st.sampled_from(["a.txt", "a.jsonl", "a.json", "a.txt.gz", "a.jsonl.bz2", "a.json.gz"]),
    st.booleans(),
)
def test_reader_turns_arbitrary_bytes_into_records_or_dead_letters(tmp_path_factory, data, name, compress):
    folder = tmp_path_factory.getbasetemp() / "arbitrary"
    folder.mkdir(exist_ok=True)
    if compress and name.endswith(".gz"):
        data = gzip.compress(data)
    elif compress and name.endswith(".bz2"):
        data = bz2.compress(data)
    (folder / name).write_bytes(data)
    results = _read(folder / name, folder, ReadConfig(max_article_bytes=1000))
    assert results and all(kind in ("article", "dead") for kind, _ in results)


def _hostile_folder(root: Path) -> dict[str, list[str]]:
    """Write hostile and good files; returns each file's expected outcomes ("enriched" or a reason)."""
    files: dict[str, tuple[bytes, list[str]]] = {
        "good/one.txt": (GOOD.encode(), ["enriched"]),
        "good/two.txt.gz": (gzip.compress(("Headline\n\n" + GOOD).encode()), ["enriched"]),
        "empty.txt": (b"", ["empty_input"]),
        "blank.txt": (b"  \n\t\r\n  \n", ["empty_input"]),
        "boilerplate.txt": (b"[ad_1]\nSource link\n", ["empty_after_cleaning"]),
        "image.txt": (PNG, ["binary_content"]),
        "mixed.txt": ("Café in Geneva ".encode() + "naïve".encode("cp1252"), ["enriched"]),
        "controls.txt": (b"Joe Biden\x00 visited\x07 Geneva\x1b.\n\n" + GOOD.encode(), ["enriched"]),
        "one-line.txt": ((("the cat sat on the mat " * 110_000) + "Joe Biden").encode(), ["enriched"]),
        "too-large.txt": (b"z" * 3_100_000, ["too_large"]),
        "truncated.txt.gz": (gzip.compress(GOOD.encode() * 50)[:60], ["corrupt_file"]),
        "truncated.jsonl.bz2": (bz2.compress(GOOD.encode() * 50)[:60], ["corrupt_file"]),
        "bomb.txt.gz": (gzip.compress(b"\0" * 50_000_000), ["too_large"]),
        "feed.jsonl": (
            b"\n".join(
                [
                    b'{"id": "dup", "text": "Joe Biden in Budapest."}',
                    b'{"id": "dup", "text": "Elena Ruiz in Geneva."}',
                    b"{not json",
                    b"[1, 2]",
                    b'{"title": "no text"}',
                    b'{"text": {"nested": true}}',
                    b'{"text": "Too deep.", "meta": ' + b"[" * 900 + b"]" * 900 + b"}",
                    b'{"text": "Deep metadata.", "meta": ' + b"[" * 99 + b"]" * 99 + b"}",
                ]
            ),
            [
                *("enriched", "enriched", "invalid_json", "not_an_object"),
                *("missing_text", "invalid_text", "too_deep", "enriched"),
            ],
        ),
        "array.json": (b'[{"text": "Joe Biden."}, "text"]', ["enriched", "not_an_object"]),
        # English with right-to-left runs (identified as English, so the English model tags it).
        "rtl.txt": ("They said مرحبا بكم in Geneva, then שלום to Joe Biden 🎉 𝔘 at the talks.".encode(), ["enriched"]),
        "dir.txt/inside.txt": (GOOD.encode(), ["enriched"]),
        "blank.jsonl": (b"\n\n", ["empty_input"]),
        "ignored.png": (PNG, []),
    }
    for name, (data, _) in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    os.symlink("good/one.txt", root / "link.txt")
    os.symlink("good", root / "linked-dir")  # not followed by the listing: no duplicates
    # A symlink loop or a dangling link must neither hang nor fail the run, nor vanish: Beam's local
    # listing drops entries it cannot stat, the reader's listing keeps them as `broken_link`.
    os.symlink("loop-b.txt", root / "loop-a.txt")
    os.symlink("loop-a.txt", root / "loop-b.txt")
    os.symlink("missing.txt", root / "dangling.txt")
    os.symlink("missing-dir", root / "dangling-dir.json")
    os.symlink("missing.png", root / "dangling.png")  # not an article file: ignored like ignored.png
    expected = {name: outcomes for name, (_, outcomes) in files.items() if outcomes}
    expected["link.txt"] = ["enriched"]
    for name in ("loop-a.txt", "loop-b.txt", "dangling.txt", "dangling-dir.json"):
        expected[name] = ["broken_link"]
    return expected


def test_cli_over_a_hostile_folder_accounts_for_every_input(tmp_path, tiny_model, record_validators):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = _hostile_folder(corpus)
    output = tmp_path / "out"
    args = ["run", "--input", str(corpus), "--output", str(output), "--model", tiny_model]
    assert main([*args, "--set", "read.max_article_bytes=3000000"]) == 0
    enriched, dead = read_shards(output, "enriched"), read_shards(output, "dead-letter")
    outcomes: dict[str, list[tuple[int, str]]] = {}
    for record in enriched:
        record_validators[0].validate(record)
        assert all(record["text"][e["start"] : e["end"]] == e["text"] for e in record["entities"])
        outcomes.setdefault(record["source"]["path"], []).append((record["source"].get("line", 0), "enriched"))
    for record in dead:
        record_validators[1].validate(record)
        outcomes.setdefault(record["source"]["path"], []).append((record["source"].get("line", 0), record["reason"]))
    assert {path: [o for _, o in sorted(found)] for path, found in outcomes.items()} == expected
    counts = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))["counts"]
    # 27 from the files, 4 from the broken links
    assert counts["inputs"] == counts["enriched"] + counts["dead_letter"] == len(enriched) + len(dead) == 31
    by_path = {(r["source"]["path"], r["source"].get("line")): r for r in enriched}
    long_line = by_path[("one-line.txt", None)]
    assert len(long_line["text"]) > 2_000_000 and long_line["entities"][-1]["text"] == "Joe Biden"
    assert [r["source"]["record_id"] for r in (by_path[("feed.jsonl", 1)], by_path[("feed.jsonl", 2)])] == ["dup"] * 2
    assert by_path[("feed.jsonl", 1)]["id"] != by_path[("feed.jsonl", 2)]["id"]
    assert by_path[("mixed.txt", None)]["source"]["encoding"] == "utf-8+cp1252"
    assert "\x00" not in by_path[("controls.txt", None)]["text"]
    rtl = by_path[("rtl.txt", None)]
    assert [(e["text"], rtl["text"][e["start"] : e["end"]]) for e in rtl["entities"]] == [
        ("Geneva", "Geneva"),
        ("Joe Biden", "Joe Biden"),
    ]


def _hostile_web_folder(root: Path) -> None:
    """Hostile web inputs beside a good page: broken WARCs, huge, deep, binary and bomb pages."""
    from .test_web import CRAWL, article_page, warc_bytes

    page = CRAWL[2]
    parts = [warc_bytes([page]) for _ in range(3)]
    plain = warc_bytes([page, page, page], gzip_records=False)
    length = int(re.search(rb"Content-Length: (\d+)", plain)[1])
    files = {
        "good.html": article_page().encode(),
        "truncated.warc.gz": b"".join(parts)[: len(parts[0]) * 2 + len(parts[2]) // 2],
        "corrupt-middle.warc.gz": parts[0] + parts[1][:30] + b"\x00" * 200 + parts[1][230:] + parts[2],
        "lying-longer.warc": plain.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length * 2), 1),
        "lying-shorter.warc": plain.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length // 2), 1),
        "huge.html": b"<html><body>" + b"<p>All work and no play.</p>" * 1_800_000 + b"</body></html>",
        "deep.html": b"<html><body>" + b"<div>" * 100_000 + b"<p>text</p>" + b"</div>" * 100_000 + b"</body></html>",
        "binary.html": PNG * 4,
        "bomb.html.gz": gzip.compress(b"<html>" + b" " * 200_000_000),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)


def test_cli_over_hostile_web_inputs_accounts_for_every_response(tmp_path, tiny_model, record_validators):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _hostile_web_folder(corpus)
    output = tmp_path / "out"
    assert main(["run", "--input", str(corpus), "--output", str(output), "--model", tiny_model]) == 0
    enriched, dead = read_shards(output, "enriched"), read_shards(output, "dead-letter")
    outcomes: dict[str, list[tuple[int, str]]] = {}
    for record in enriched:
        record_validators[0].validate(record)
        outcomes.setdefault(record["source"]["path"], []).append((record["source"].get("offset", 0), "enriched"))
    for record in dead:
        record_validators[1].validate(record)
        outcomes.setdefault(record["source"]["path"], []).append((record["source"].get("offset", 0), record["reason"]))
    found = {path: [outcome for _, outcome in sorted(items)] for path, items in outcomes.items()}
    assert found == {  # three responses in every WARC: each one is a record or a dead letter
        "good.html": ["enriched"],
        "truncated.warc.gz": ["enriched", "enriched", "no_article_text"],  # the half page left has no body
        "corrupt-middle.warc.gz": ["enriched", "corrupt_record", "enriched"],
        "lying-longer.warc": ["corrupt_record", "enriched", "enriched"],
        "lying-shorter.warc": ["corrupt_record", "enriched", "enriched"],
        "huge.html": ["too_large"],
        "deep.html": ["no_article_text"],
        "binary.html": ["binary_content"],
        "bomb.html.gz": ["too_large"],
    }
    summary = json.loads((output / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["invariant_ok"] and summary["counts"]["inputs"] == len(enriched) + len(dead) == 17
