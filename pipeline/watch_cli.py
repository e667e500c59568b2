"""The `article-enrich watch` sub-command: its flags, and turning them into a config and WatchOptions."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.config import ConfigError, load_config
from pipeline.run import JobFailed
from pipeline.watch import WatchOptions, watch

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_watch_parser(commands: argparse._SubParsersAction) -> None:
    watch_parser = commands.add_parser(
        "watch",
        help="enrich every article file already in a folder and every one that appears later",
        epilog="Any other --option is passed to Beam's PipelineOptions. SIGINT/SIGTERM stop it cleanly.",
    )
    watch_parser.add_argument("--input", help="the folder (or glob) to watch; it may be empty")
    watch_parser.add_argument("--output", help="the folder for the per-window enriched and dead-letter files")
    watch_parser.add_argument("--config", help="a YAML config file (default: the built-in configs/local.yaml values)")
    watch_parser.add_argument("--runner", help="the Beam runner (overrides the config's beam.runner)")
    watch_parser.add_argument("--model", help="a spaCy pipeline name or path (overrides tag.model)")
    watch_parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between listings (0.5)")
    watch_parser.add_argument(
        "--idle-timeout", type=float, default=None, help="stop after this many seconds without a new file (never)"
    )
    watch_parser.add_argument("--window", type=float, default=60.0, help="event-time window in seconds (60)")
    watch_parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")


def watch_main(args: argparse.Namespace, beam_args: list[str]) -> int:
    overrides = list(args.set)
    flags = (("input", args.input), ("output", args.output), ("tag.model", args.model), ("beam.runner", args.runner))
    for key, value in flags:
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    try:
        if args.poll_interval <= 0 or args.window <= 0 or (args.idle_timeout is not None and args.idle_timeout < 0):
            raise ConfigError("--poll-interval and --window must be positive, --idle-timeout not negative")
        config = load_config(args.config, overrides)
        for key in ("input", "output"):
            if not getattr(config, key):
                raise ConfigError(f"--{key} is required (or set {key!r} in the config file)")
        options = WatchOptions(args.poll_interval, args.idle_timeout, args.window)
        summary = watch(config, options, beam_args)
    except ConfigError as error:
        print(f"article-enrich: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except JobFailed as error:
        print(f"article-enrich: {error}", file=sys.stderr)
        return EXIT_FAILED
    counts = summary["counts"]
    print(
        f"article-enrich: watch stopped ({summary['stopped_by']}): {counts['inputs']} inputs, "
        f"{counts['enriched']} enriched, {counts['dead_letter']} dead letters -> {summary['output']}"
    )
    return EXIT_OK
