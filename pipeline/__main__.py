"""`python -m pipeline` runs the article-enrich command line."""

import sys

from pipeline.cli import main

sys.exit(main())
