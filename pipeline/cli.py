"""The article-enrich command line: `article-enrich run --input … --output …` plus Beam options."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from pipeline.config import ConfigError, load_config
from pipeline.incremental import run_incremental
from pipeline.run import JobFailed, run
from pipeline.watch_cli import add_watch_parser, watch_main

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DEAD_LETTERS = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="article-enrich", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="enrich a corpus in one batch job",
        epilog="Any other --option is passed to Beam's PipelineOptions (e.g. --direct_num_workers=2).",
    )
    run_parser.add_argument("--input", help="a folder (every article file below it), a file or a glob")
    run_parser.add_argument("--output", help="the folder for enriched-*.jsonl, dead-letter-*.jsonl, run-summary.json")
    run_parser.add_argument("--config", help="a YAML config file (default: the built-in configs/local.yaml values)")
    run_parser.add_argument("--runner", help="the Beam runner (overrides the config's beam.runner)")
    run_parser.add_argument("--model", help="a spaCy pipeline name or path (overrides tag.model)")
    run_parser.add_argument(
        "--incremental",
        action="store_true",
        help="only new or changed inputs, into OUTPUT/run=<time>/ (sets incremental.enabled; docs/scheduling.md)",
    )
    run_parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. tag.batch_size=32",
    )
    add_watch_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The DirectRunner relays each worker process's start-up warnings; errors still come through.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    args, beam_args = parser().parse_known_args(argv)
    if args.command == "watch":
        return watch_main(args, beam_args)
    overrides = list(args.set) + (["incremental.enabled=true"] if args.incremental else [])
    for key, value in (
        ("input", args.input),
        ("output", args.output),
        ("tag.model", args.model),
        ("beam.runner", args.runner),
    ):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    try:
        config = load_config(args.config, overrides)
        for key in ("input", "output"):
            if not getattr(config, key):
                raise ConfigError(f"--{key} is required (or set {key!r} in the config file)")
        summary = (run_incremental if config.incremental.enabled else run)(config, beam_args)
    except ConfigError as error:
        print(f"article-enrich: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except JobFailed as error:
        print(f"article-enrich: {error}", file=sys.stderr)
        return EXIT_FAILED
    counts = summary["counts"]
    print(
        f"article-enrich: {counts['inputs']} inputs, {counts['enriched']} enriched, "
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


if __name__ == "__main__":
    sys.exit(main())
