"""Where memory goes: per-process RSS over a run, and what the DirectRunner's shuffles cost its launcher."""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent


def timeline(argv: list[str], slices: int = 10, poll_seconds: float = 0.25) -> None:
    """Run `article-enrich run ARGV`; print each process's lowest-highest RSS per tenth of the wall time."""
    command = [sys.executable, "-m", "pipeline", "run", *argv]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = psutil.Process(process.pid)
    samples: list[tuple[float, int, int]] = []
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                samples.append((time.perf_counter() - started, proc.pid, proc.memory_info().rss >> 20))
        time.sleep(poll_seconds)
    wall = time.perf_counter() - started
    print(f"wall {wall:.1f} s, exit {process.returncode}; RSS MiB per tenth of the run (lowest-highest)")
    for pid in sorted({pid for _, pid, rss in samples if rss >= 50}):
        own = [(t, rss) for t, p, rss in samples if p == pid]
        cells = []
        for index in range(slices):
            part = [rss for t, rss in own if index * wall / slices <= t < (index + 1) * wall / slices]
            cells.append(f"{min(part)}-{max(part)}" if part else "-")
        name = "launcher" if pid == process.pid else "worker"
        print(f"  {name:<8} peak {max(rss for _, rss in own):4d}: {' '.join(cells)}")


def _beam_options(workers: int):
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"])


def shuffle_files(folder: str, how: str) -> None:
    """MatchAll over FOLDER/*.txt, reshuffled as FileMetadata or as ReadArticles does it; launcher peak."""
    import apache_beam as beam
    from apache_beam.io import fileio

    from transforms.read_articles import FILES_PER_SHUFFLE, _SpreadFiles

    spread = beam.Reshuffle() if how == "metadata" else _SpreadFiles(FILES_PER_SHUFFLE)
    with beam.Pipeline(options=_beam_options(2)) as pipeline:
        _ = pipeline | beam.Create([f"{folder}/*.txt"]) | fileio.MatchAll() | spread | beam.Map(lambda _: None)
    print(f"shuffle {how}: launcher peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB")


def count_keys(keys: int, how: str) -> None:
    """KEYS distinct line keys counted on 2 workers, per key (Count.PerElement) or as the corpus pass counts
    them (per-bucket partial counts); launcher peak."""
    import apache_beam as beam

    from transforms.core.boilerplate import line_key
    from transforms.strip_corpus_boilerplate import COUNT_BUCKETS, _CountLinesFn, _repeated_in_bucket

    def line_keys(group: int):
        return f"/c/{group}", [line_key("site", f"line {group}-{index}") for index in range(10)]

    with beam.Pipeline(options=_beam_options(2)) as pipeline:
        lines = pipeline | beam.Create(range(keys // 10)) | beam.Reshuffle() | beam.Map(line_keys)
        if how == "per-key":
            _ = (
                lines
                | beam.FlatMap(lambda uri_keys: uri_keys[1])
                | beam.combiners.Count.PerElement()
                | beam.Filter(lambda key_count: key_count[1] > 1)
            )
        else:
            _ = lines | beam.ParDo(_CountLinesFn()) | beam.GroupByKey() | beam.FlatMap(_repeated_in_bucket, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"count {keys} keys {how} ({COUNT_BUCKETS} buckets): launcher peak {peak} MiB")


def hold_articles(folder: str, how: str, temp: str) -> None:
    """Read, clean and strip corpus boilerplate over FOLDER on 2 workers (no tagging), the articles waiting
    for the line count in files (as the pipeline does) or in the runner (`memory`), or without the corpus
    pass (`none`); launcher peak."""
    import apache_beam as beam

    from transforms import CleanArticles, ReadArticles, StripCorpusBoilerplate
    from transforms.core.clean import CleanConfig
    from transforms.core.parse import ReadConfig

    clean = CleanConfig()
    temp_root = temp if how == "files" else None
    with beam.Pipeline(options=_beam_options(2)) as pipeline:
        articles, _ = pipeline | ReadArticles(f"{folder}/**", folder, ReadConfig())
        cleaned, _ = articles | CleanArticles(clean)
        if how != "none":
            cleaned, _ = cleaned | StripCorpusBoilerplate(clean.corpus_boilerplate, temp_root)
        _ = cleaned | beam.Map(lambda _: None)
    print(f"hold {how}: launcher peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB")


def launcher_buffers(argv: list[str], most: int = 12) -> None:
    """Run `article-enrich run ARGV` in this process; print the bytes each of the DirectRunner's buffers received.

    The FnApiRunner keeps what passes between stages in buffers of the launcher: a PCollection's encoded
    bytes (`materialize:`), a group-by-key's values (`group:`, held decoded until the next stage starts).
    """
    from collections import Counter

    from apache_beam.runners.portability.fn_api_runner import execution

    from pipeline.cli import main as run_main

    received: Counter[bytes] = Counter()
    get_buffer = execution.BundleContextManager.get_buffer

    def counting_get_buffer(self, buffer_id: bytes, transform_id: str):
        buffer = get_buffer(self, buffer_id, transform_id)
        if not getattr(buffer, "_counted", False):
            append = buffer.append

            def counting_append(data: bytes) -> None:
                received[buffer_id] += len(data)
                append(data)

            buffer.append, buffer._counted = counting_append, True
        return buffer

    execution.BundleContextManager.get_buffer = counting_get_buffer
    try:
        code = run_main(["run", *argv])
    finally:
        execution.BundleContextManager.get_buffer = get_buffer
    print(f"exit {code}; bytes received per launcher buffer, {sum(received.values()) / 2**20:.1f} MiB in all")
    for buffer_id, size in received.most_common(most):
        print(f"  {size / 2**20:7.1f} MiB  {buffer_id.decode(errors='replace')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("timeline", help="RSS per process over `article-enrich run` with the other arguments")
    commands.add_parser("launcher-buffers", help="bytes per DirectRunner buffer over `article-enrich run` ARGS")
    shuffle = commands.add_parser("shuffle-files", help="launcher peak of reshuffling a folder's file list")
    shuffle.add_argument("folder")
    shuffle.add_argument("--how", choices=("metadata", "batched"), default="batched", help="batched: as ReadArticles")
    count = commands.add_parser("count-keys", help="launcher peak of counting distinct keys")
    count.add_argument("keys", type=int)
    count.add_argument("--how", choices=("per-key", "buckets"), default="buckets", help="buckets: as the pipeline")
    hold = commands.add_parser("hold-articles", help="launcher peak of articles waiting for the corpus count")
    hold.add_argument("folder")
    hold.add_argument("--how", choices=("files", "memory", "none"), default="files", help="files: as the pipeline")
    hold.add_argument("--temp", default="/tmp", help="where the held files go (files)")
    args, run_args = parser.parse_known_args(argv)
    if args.command == "timeline":
        timeline(run_args)
    elif args.command == "launcher-buffers":
        launcher_buffers(run_args)
    elif run_args:
        parser.error(f"unrecognized arguments: {' '.join(run_args)}")
    elif args.command == "shuffle-files":
        shuffle_files(args.folder, args.how)
    elif args.command == "hold-articles":
        hold_articles(args.folder, args.how, args.temp)
    else:
        count_keys(args.keys, args.how)
    return 0


if __name__ == "__main__":
    sys.exit(main())
