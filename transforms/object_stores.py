"""Beam's S3 filesystem made fit for a run (shared clients, empty objects), and which errors are the store's.

`install()` runs in the launcher before its first file operation on s3://, and in every worker process of such a
run through the Beam plugin transforms/s3_plugin.py (`--beam_plugins`, which Beam's SDK workers import before
they run anything). It changes two things in Beam 2.77's S3 filesystem (`apache_beam.io.aws`; setup.py pins it):

- Beam builds a new boto3 session and client for every file operation, and building one parses botocore's
  service model: about 170 ms of CPU per file opened, more than cleaning and tagging an article. boto3 clients
  are thread-safe and keep no state between requests, so one client per process and connection settings
  (endpoint, credentials, region…) serves them all.
- Beam's uploader completes a multipart upload without any part when nothing was written, which S3 refuses
  (`MalformedXML`): every empty shard (a run without dead letters) failed the job. An empty object is now
  uploaded as one empty part, as S3 accepts.
"""

from __future__ import annotations

import os
import threading
from typing import Any

STORE_ERRORS = "store_errors"  # the counter of input files that could not be read because the store failed
_S3_SETTINGS = (
    "s3_access_key_id",
    "s3_secret_access_key",
    "s3_session_token",
    "s3_endpoint_url",
    "s3_region_name",
    "s3_api_version",
    "s3_verify",
    "s3_disable_ssl",
)
_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def s3_settings(options: Any) -> tuple[Any, ...]:
    """The connection settings Beam's S3 client is built from, as a key: PipelineOptions or a dict of them."""
    if isinstance(options, dict):
        return tuple(options.get(name) for name in _S3_SETTINGS)
    from apache_beam.options.pipeline_options import S3Options

    s3 = options.view_as(S3Options)
    return tuple(getattr(s3, name) for name in _S3_SETTINGS)


def store_failure(error: BaseException) -> bool:
    """Whether reading a file failed because the store did not answer or failed (no answer, a 5xx, after Beam's
    retries), rather than because of the file (missing, forbidden): then the run must fail, and not turn the
    file into a dead letter. Beam's S3 filesystem raises S3ClientError with the HTTP status (None: no answer);
    other stores' errors are not told apart (they stay dead letters)."""
    if type(error).__name__ != "S3ClientError" or not type(error).__module__.startswith("apache_beam.io.aws"):
        return False
    code = getattr(error, "code", None)
    return code is None or (isinstance(code, int) and code >= 500)


def install() -> None:
    """Patch Beam's S3 filesystem in this process (once; nothing to do without boto3)."""
    try:
        from apache_beam.io.aws import s3io
        from apache_beam.io.aws.clients.s3 import boto3_client
    except ImportError:  # a Beam without its S3 filesystem: nothing to fix
        return
    if boto3_client.boto3 is None or getattr(boto3_client.Client, "_shared", False):
        return
    build = boto3_client.Client.__init__

    def shared_client(self: Any, options: Any) -> None:
        key = (os.getpid(), s3_settings(options))  # a forked child must not share its parent's connections
        with _lock:
            client = _clients.get(key)
            if client is None:
                build(self, options)
                _clients[key] = self.client
                return
        self.client = client
        self._download_request = None
        self._download_stream = None
        self._download_pos = 0

    finish = s3io.S3Uploader.finish

    def finish_with_a_part(self: Any) -> None:
        if not self.parts and not self.buffer and self.last_error is None:
            self._write_to_s3(b"")
        finish(self)

    boto3_client.Client.__init__ = shared_client
    boto3_client.Client._shared = True
    s3io.S3Uploader.finish = finish_with_a_part
