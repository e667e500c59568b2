"""`python -m pipeline` runs the article-enrich command line."""

import sys

from pipeline.cli import console

sys.exit(console())
