"""Fault suite: hostile inputs mixed with real articles, run through the CLI, with counts and memory."""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from transforms.core.parse import article_format

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


def hostile_files(rng: random.Random, sample: str) -> list[tuple[str, bytes]]:
    """One round of every kind of hostile file; `sample` is real article text to damage."""
    raw = sample.encode()
    deep = b"[" * 5000 + b"]" * 5000
    return [
        ("empty.txt", b""),
        ("blank.txt", b" \n\t\r\n " * rng.randint(1, 50)),
        ("boilerplate.txt", b"[ad_1]\nSource link\nAdvertisement\n"),
        ("image.txt", PNG + rng.randbytes(2000)),
        ("random.txt", rng.randbytes(rng.randint(1, 5000))),
        ("mixed.txt", raw[:300] + "naïve café".encode("cp1252") + raw[300:]),
        ("nul.txt", raw.replace(b" ", b"\x00", 3)),
        ("controls.txt", bytes(rng.randrange(0, 32) for _ in range(500))),
        ("utf16.txt", sample.encode("utf-16")),
        ("one-line.txt", ((sample.replace("\n", " ") + " ") * (3_000_000 // max(len(sample), 1))).encode()),
        ("too-large.txt", b"z" * 21_000_000),
        ("truncated.txt.gz", gzip.compress(raw * 5)[: rng.randint(5, 60)]),
        ("truncated.jsonl.bz2", bz2.compress(raw * 5)[: rng.randint(5, 60)]),
        ("garbage.txt.gz", rng.randbytes(300)),
        ("bomb.txt.gz", gzip.compress(b"\0" * 100_000_000, compresslevel=9)),
        ("bomb.jsonl.bz2", bz2.compress(b'{"text": "x"}\n' + b"A" * 100_000_000)),
        ("feed.jsonl", _feed(sample, deep)),
        ("array.json", json.dumps([{"text": sample}, 3, {"text": None}]).encode()),
        ("deep.json", deep),
        ("rtl.txt", ("مرحبا بكم في جنيف. שלום עולם 🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\n\n" + sample).encode()),
        ("dir.txt/inside.txt", raw),
        *web_files(rng, sample),
    ]


def _page(sample: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in sample.splitlines() if line.strip())
    return f"<html><head><title>Sample</title></head><body><article>{paragraphs}</article></body></html>".encode()


def _warc(pages: list[bytes], gzip_records: bool = True) -> bytes:
    """A WARC with a request and an HTML response record per page."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip_records)
    for index, page in enumerate(pages):
        url = f"https://news.example/{index}"
        request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "news.example")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "request", http_headers=request))
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(page), http_headers=headers))
    return out.getvalue()


# Each web file with the number of HTML responses it holds: every one must be a record or a dead letter
# (a damaged record that may have been a request is a dead letter too, so there can be more).
WEB_RESPONSES = {"page.html": 1, "truncated.warc.gz": 3, "corrupt.warc.gz": 3, "lying.warc": 3, "huge.html": 1,
                 "deep.html": 1, "binary.html": 1, "bomb.html.gz": 1}  # fmt: skip


def web_files(rng: random.Random, sample: str) -> list[tuple[str, bytes]]:
    """Hostile web inputs: broken WARCs, a 50 MB page, 100,000-deep HTML, binary and bomb pages."""
    page = _page(sample)
    members = [_warc([page]) for _ in range(3)]
    whole = b"".join(members)
    response = len(members[0]) * 2 + members[2].find(b"\x1f\x8b\x08", 1)  # the third response's gzip member
    cut = rng.randint(response + 20, len(whole) - 20)
    at = len(members[1]) - 300  # inside the second response's compressed body
    damaged = members[1][:at] + rng.randbytes(200) + members[1][at + 200 :]
    plain = _warc([page] * 3, gzip_records=False)
    length = plain.split(b"Content-Length: ", 2)[2].split(b"\r\n", 1)[0]  # the first response's length
    lying = plain.replace(b"Content-Length: " + length, b"Content-Length: %d" % (int(length) * 3), 1)
    return [
        ("page.html", page),
        ("truncated.warc.gz", whole[:cut]),
        ("corrupt.warc.gz", members[0] + damaged + members[2]),
        ("lying.warc", lying),
        ("huge.html", b"<html><body>" + b"<p>All work and no play.</p>" * 1_800_000 + b"</body></html>"),
        ("deep.html", b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000 + b"</body></html>"),
        ("binary.html", PNG + rng.randbytes(3000)),
        ("bomb.html.gz", gzip.compress(b"<html>" + b" " * 300_000_000, compresslevel=9)),
    ]


def _feed(sample: str, deep: bytes) -> bytes:
    lines = [
        json.dumps({"id": "dup", "text": sample}).encode(),
        json.dumps({"id": "dup", "text": sample[::-1]}).encode(),
        b"{broken",
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"title": "no text"}',
        b'{"text": 42}',
        b'{"text": "deep", "meta": ' + deep + b"}",
        b'{"text": "deep enough", "meta": ' + b"[" * 150 + b"]" * 150 + b"}",
        b"\xff\xfe\x00garbage",
    ]
    return b"\n".join(lines) + b"\n"


def build(workdir: Path, bbc: Path, count: int, hostile_rounds: int, seed: int) -> tuple[Path, Path]:
    """(clean corpus of `count` real articles, the same articles plus hostile files)."""
    rng = random.Random(seed)
    articles = sorted(bbc.rglob("*.txt"))
    chosen = rng.sample(articles, min(count, len(articles)))
    clean, mixed = workdir / "clean", workdir / "mixed"
    for folder in (clean, mixed):
        shutil.rmtree(folder, ignore_errors=True)
        for path in chosen:
            target = folder / "real" / path.relative_to(bbc)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for index in range(hostile_rounds):
        sample = rng.choice(chosen).read_text(encoding="utf-8", errors="replace")
        for name, data in hostile_files(rng, sample):
            if index and name in {
                "too-large.txt",
                "bomb.txt.gz",
                "bomb.jsonl.bz2",
                "one-line.txt",
                "huge.html",
                "bomb.html.gz",
            }:
                continue  # the expensive ones once
            target = mixed / "hostile" / f"r{index:03d}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        folder = mixed / "hostile" / f"r{index:03d}"
        os.symlink("loop-b.txt", folder / "loop-a.txt")
        os.symlink("loop-a.txt", folder / "loop-b.txt")
        os.symlink("nowhere.txt", folder / "dangling.txt")
        os.symlink("mixed.txt", folder / "link.txt")
        os.mkfifo(folder / "pipe.txt")
    return clean, mixed


def run_cli(corpus: Path, output: Path, model: str | None) -> dict:
    """Run the CLI in a child process; returns exit code, wall time, peak RSS and the outputs."""
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--output", str(output)]
    if model:
        command += ["--model", model]
    started = time.perf_counter()
    with open(output.parent / f"{output.name}.stderr", "w+", encoding="utf-8") as err_file:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err_file)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        err_file.seek(0)
        err = err_file.read()
    peak_kb = usage.ru_maxrss
    result = {"exit": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024)}
    result["err"] = err
    summary = output / "run-summary.json"
    result["summary"] = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else {}
    result["enriched"] = _records(output, "enriched")
    result["dead"] = _records(output, "dead-letter")
    return result


def _records(folder: Path, prefix: str) -> list[dict]:
    records = []
    for shard in sorted(folder.glob(f"{prefix}-*.jsonl")):
        with shard.open(encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def _located(record: dict) -> dict:
    """The record without `source.uri`, the one field that names the corpus folder (clean/ or mixed/)."""
    return {**record, "source": {k: v for k, v in record["source"].items() if k != "uri"}}


def unaccounted(corpus: Path, result: dict) -> list[str]:
    """Directory entries with an article extension (broken links included) with neither a record nor a dead letter."""
    seen = {record["source"]["path"] for record in result["enriched"] + result["dead"]}
    entries = [
        os.path.relpath(os.path.join(folder, name), corpus)
        for folder, _, names in os.walk(corpus)
        for name in names
        if article_format(name) is not None
    ]
    return sorted(entry for entry in entries if entry not in seen)


def report(name: str, result: dict) -> None:
    counts = result["summary"].get("counts", {})
    reasons = Counter(record["reason"] for record in result["dead"])
    print(f"== {name}: exit {result['exit']}, wall {result['wall_s']} s, peak RSS {result['peak_rss_mb']} MB")
    print(f"   inputs {counts.get('inputs')}, enriched {counts.get('enriched')}, ", end="")
    print(f"dead letters {counts.get('dead_letter')}")
    print(f"   invariant holds: {result['summary'].get('invariant_ok')}")
    for reason, number in sorted(reasons.items()):
        print(f"   dead letter {reason}: {number}")
    if result["summary"].get("skipped_records"):
        print(f"   skipped WARC records: {result['summary']['skipped_records']}")
    if result["exit"]:
        print(result["err"][-3000:])


def web_accounted(result: dict) -> bool:
    """Whether every HTML response of every hostile web file came out as a record or a dead letter."""
    outcomes = Counter(r["source"]["path"] for r in result["enriched"] + result["dead"])
    missing = {
        path: (outcomes[path], expected)
        for path in outcomes
        if (expected := WEB_RESPONSES.get(path.rsplit("/", 1)[-1])) is not None and outcomes[path] < expected
    }
    rounds = {"/".join(path.split("/")[:2]) for path in outcomes if path.startswith("hostile/")}
    absent = [f"{r}/{name}" for r in rounds for name in WEB_RESPONSES if f"{r}/{name}" not in outcomes]
    absent = [path for path in absent if not path.endswith(("huge.html", "bomb.html.gz")) or "/r000/" in path]
    print(f"every web response accounted for: {not missing and not absent} (wrong counts {missing}, absent {absent})")
    return not missing and not absent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bbc", type=Path, required=True, help="folder of real .txt articles to mix in")
    parser.add_argument("--count", type=int, default=300, help="how many real articles")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of hostile files (~35 files each)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--model", default=None, help="spaCy model (default: the config's)")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    clean, mixed = build(args.workdir, args.bbc, args.count, args.rounds, args.seed)
    baseline = run_cli(clean, args.workdir / "out-clean", args.model)
    report("real articles only", baseline)
    hostile = run_cli(mixed, args.workdir / "out-mixed", args.model)
    report("real articles + hostile files", hostile)
    by_path = {r["source"]["path"]: _located(r) for r in hostile["enriched"] if r["source"]["path"].startswith("real/")}
    same = all(by_path.get(r["source"]["path"]) == _located(r) for r in baseline["enriched"])
    same = same and len(by_path) == len(baseline["enriched"])
    print(f"real articles' records identical to the clean run: {same} ({len(by_path)} records)")
    missing = unaccounted(mixed, hostile)
    print(f"entries with an article extension that left no record or dead letter: {len(missing)} {missing[:5]}")
    web_ok = web_accounted(hostile)
    ratio = hostile["peak_rss_mb"] / max(baseline["peak_rss_mb"], 1)
    print(f"peak RSS ratio hostile/clean: {ratio:.2f}")
    ok = baseline["exit"] == hostile["exit"] == 0 and same and hostile["summary"].get("invariant_ok")
    ok = ok and not missing and web_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
