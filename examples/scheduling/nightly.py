"""Launcher for schedulers that run a Python file with --option=value flags: `article-enrich run --incremental`."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "--incremental", *sys.argv[1:]]))
