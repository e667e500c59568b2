"""The article-enrich command line: `run` a batch job or `watch` a folder, plus Beam options."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pipeline.logs import configure_logging
from pipeline.malloc import limit_arenas

if TYPE_CHECKING:
    from pipeline.config import Config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DEAD_LETTERS = 0, 1, 2, 3
BEAM_EPILOG = (
    "Any other --option is passed to Beam's PipelineOptions (e.g. --direct_running_mode=in_memory, or "
    "--s3_endpoint_url=URL and --s3_access_key_id=… for s3:// paths: docs/runners.md)."
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="article-enrich", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('article-enrich')}")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="enrich a corpus in one batch job",
        epilog=BEAM_EPILOG + " SIGINT/SIGTERM stop it: its temporary files are removed, its summary says so.",
    )
    _job_arguments(run_parser, output="the folder for enriched-*.jsonl, dead-letter-*.jsonl, run-summary.json")
    run_parser.add_argument(
        "--incremental",
        action="store_true",
        help="only new or changed inputs, into OUTPUT/run=<time>/ (sets incremental.enabled; docs/scheduling.md)",
    )
    run_parser.add_argument("--quiet", action="store_true", help="no progress on standard error (sets progress)")
    report_parser = commands.add_parser(
        "report",
        help="rebuild run-report.html from an output folder (local or any Beam filesystem)",
        epilog="Other --options are Beam's filesystem options, e.g. --s3_endpoint_url=URL (as for run and watch).",
    )
    report_parser.add_argument("output", help="a run's output folder, or an incremental output folder")
    report_parser.add_argument(
        "--run", help="incremental output: only this run (a run=… name or 'latest'; default: every committed run)"
    )
    watch_parser = commands.add_parser(
        "watch",
        help="enrich every article file already in a folder and every one that arrives later, in committed batches",
        epilog=BEAM_EPILOG + " SIGINT/SIGTERM stop it cleanly: a batch in flight is not committed (docs/streaming.md).",
    )
    _job_arguments(watch_parser, output="the incremental output folder: one run=<time>/ folder per batch")
    watch_parser.add_argument(
        "--poll-interval", type=float, help="seconds between listings (sets watch.poll_interval_s)"
    )
    watch_parser.add_argument(
        "--idle-timeout", type=float, help="stop after this many seconds without a new file (sets watch.idle_timeout_s)"
    )
    watch_parser.add_argument("--quiet", action="store_true", help="no progress on standard error (sets progress)")
    return parser


def _job_arguments(parser: argparse.ArgumentParser, *, output: str) -> None:
    parser.add_argument("--input", help="a folder (every article file below it), a file or a glob")
    parser.add_argument("--output", help=output)
    parser.add_argument("--config", help="a YAML config file (default: the built-in configs/local.yaml values)")
    parser.add_argument("--runner", help="the Beam runner (overrides the config's beam.runner)")
    parser.add_argument("--model", help="a spaCy pipeline name or path (overrides tag.model)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. tag.batch_size=32",
    )


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args, beam_args = parser().parse_known_args(argv)
    if args.command == "report":
        return _rebuild_report(args, beam_args)
    # Imported once the arguments are parsed: --help and --version need neither the config nor Beam.
    from pipeline.config import ConfigError
    from pipeline.stopping import JobFailed, interrupted_by_signals, interrupting_signal

    try:
        with interrupted_by_signals():
            config = _config(args)
            _open_storage(config, beam_args)
            summary = _start(args, config, beam_args)
    except ConfigError as error:
        print(f"article-enrich: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except JobFailed as error:
        print(f"article-enrich: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as error:
        stopped_by = interrupting_signal(error)
        print(f"article-enrich: stopped by {stopped_by.name}", file=sys.stderr)
        return 128 + stopped_by
    return _report(summary, config)


def console() -> int:
    """`main` for a process that ends with it (the `article-enrich` command, `python -m pipeline`)."""
    limit_arenas()
    code = main()
    # The interpreter's last collection would walk every object of Beam and the models (about 0.3 s); the
    # process is ending, so the system frees them anyway.
    gc.freeze()
    return code


def _config(args: argparse.Namespace) -> Config:
    from pipeline.config import ConfigError, load_config

    overrides = list(args.set) + (["incremental.enabled=true"] if getattr(args, "incremental", False) else [])
    overrides += ["progress=false"] if getattr(args, "quiet", False) else []
    for key, value in (
        ("input", args.input),
        ("output", args.output),
        ("tag.model", args.model),
        ("beam.runner", args.runner),
        ("watch.poll_interval_s", getattr(args, "poll_interval", None)),
        ("watch.idle_timeout_s", getattr(args, "idle_timeout", None)),
    ):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    config = load_config(args.config, overrides)
    for key in ("input", "output"):
        if not getattr(config, key):
            raise ConfigError(f"--{key} is required (or set {key!r} in the config file)")
    return config


def _open_storage(config: Config, beam_args: list[str]) -> None:
    """Beam's filesystem options (--s3_endpoint_url…) in force before the launcher's first file operation."""
    from pipeline.buckets import open_storage
    from pipeline.job import pipeline_options

    open_storage(pipeline_options(config, beam_args), {"--input": config.input, "--output": config.output})


def _start(args: argparse.Namespace, config: Config, beam_args: list[str]) -> dict[str, Any]:
    if args.command == "watch":
        from pipeline.watch import watch

        return watch(config, beam_args)
    if config.incremental.enabled:
        from pipeline.incremental import run_incremental

        return run_incremental(config, beam_args)
    from pipeline.batch import run

    return run(config, beam_args)


def _report(summary: dict[str, Any], config: Config) -> int:
    counts = summary["counts"]
    stopped = f"watch stopped ({summary['stopped_by']}), {summary['batches']} batches: " if "batches" in summary else ""
    print(
        f"article-enrich: {stopped}{counts['inputs']} inputs, {counts['enriched']} enriched, "
        f"{counts['dead_letter']} dead letters, {counts['entities']} entities -> {summary['output']}"
    )
    if "incremental" in summary:
        report = summary["incremental"]
        print(f"article-enrich: incremental: processed {report['processed']}, skipped {report['skipped']}")
    if summary.get("dead_letter_ratio_exceeded"):
        print(
            f"article-enrich: dead-letter ratio {summary['dead_letter_ratio']} is above max_dead_letter_ratio "
            f"{config.max_dead_letter_ratio} (the output was written)",
            file=sys.stderr,
        )
        return EXIT_DEAD_LETTERS
    return EXIT_OK


def _rebuild_report(args: argparse.Namespace, beam_args: list[str]) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.buckets import open_storage
    from pipeline.config import ConfigError
    from pipeline.report import ReportError, write_report
    from transforms.core.paths import absolute

    try:
        open_storage(PipelineOptions(beam_args), {"OUTPUT": args.output})
        path = write_report(absolute(args.output), args.run)
    except (ReportError, ConfigError) as error:
        print(f"article-enrich: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"article-enrich: report written to {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
