"""`python -m tests.fast_retries ARGS…`: the article-enrich command with Beam's retry waits cut to nothing.

For tests that stop the S3 server mid-run: Beam retries a failing S3 request 7 times over about 10 minutes
(5 s doubling), which the test would wait out; the code paths taken are the same.
"""

import sys

from apache_beam.utils import retry

from pipeline.cli import console

if __name__ == "__main__":
    retry.Clock.sleep = lambda self, value: None
    sys.exit(console())
