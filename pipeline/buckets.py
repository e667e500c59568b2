"""Buckets (s3://, gs://…) for the launcher: Beam's options set before its first file operation, an early check
that each bucket answers, S3's conditional writes for the lock, and whether a store still answers after a failure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.config import ConfigError
from pipeline.stopping import JobFailed
from transforms.core.paths import glob_start, is_local

S3_PLUGIN = "transforms.s3_plugin"  # imported by every worker of a run on s3:// (Beam's --beam_plugins)
PROBE_TIMEOUT_S = 10  # an early check, or one after a failure, waits this long for an answer (Beam retries ~10 min)
CREDENTIALS = (
    "--s3_access_key_id and --s3_secret_access_key (and --s3_session_token for temporary ones), or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)"
)
_REFUSED_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AccessDenied",
    "AllAccessDisabled",
    "403",
}
_WRONG_REGION = {"AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "301"}
_PRECONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
log = logging.getLogger(__name__)
_options = PipelineOptions([])
_probes: dict[tuple[Any, ...], Any] = {}  # (pid, S3 settings) -> a client that tries once, briefly


class StoreUnavailable(JobFailed):
    """The object store stopped answering during a run: what the run left there is settled by the next run."""


def scheme(path: str) -> str | None:
    return None if is_local(path) else path.split("://", 1)[0].lower()


def with_s3_plugin(flags: list[str], paths: Mapping[str, str | None]) -> list[str]:
    """Beam flags that make every worker install transforms/object_stores.py when a path is on s3://."""
    if not any(path and scheme(path) == "s3" for path in paths.values()):
        return flags
    return [*flags, f"--beam_plugins={S3_PLUGIN}"]


def open_storage(options: PipelineOptions, paths: Mapping[str, str | None]) -> None:
    """Hand Beam's options to its filesystems before any file operation of the launcher's, then check that each
    of `paths` ({flag: path}) can be reached: a wrong endpoint, missing bucket or refused credentials raise
    ConfigError naming what to fix, before any work starts."""
    global _options
    _options = options
    if any(path and scheme(path) == "s3" for path in paths.values()):
        from transforms.object_stores import install

        install()  # the launcher's own S3 operations share clients and write empty objects too
    FileSystems.set_options(options)
    for flag, path in paths.items():
        if path:
            check_access(flag, path)


def check_access(flag: str, path: str) -> None:
    """ConfigError unless `path`'s store answers a listing of it (local paths are not checked here)."""
    kind = scheme(path)
    if kind is None:
        return
    if kind != "s3":
        try:
            FileSystems.get_filesystem(path)
        except ValueError as error:
            raise ConfigError(f"{flag}: {path!r}: Beam has no filesystem for {kind}:// here ({error})") from error
        return
    bucket, prefix = _bucket_and_key(flag, path)
    try:
        client = _s3_client(probe=True)
    except RuntimeError as error:
        raise ConfigError(f"{flag}: {path!r}: {error}") from error
    except ValueError as error:  # botocore refuses the endpoint URL itself
        raise ConfigError(f"{flag}: {error}: check --s3_endpoint_url (or AWS_ENDPOINT_URL)") from error
    try:
        client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as error:
        raise ConfigError(s3_problem(error, flag, path, client.meta.endpoint_url)) from error


def s3_problem(error: BaseException, flag: str, path: str, endpoint: str) -> str:
    """What a boto3 error on `path` means for the user, naming the option to fix."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ParamValidationError

    bucket = path.removeprefix("s3://").split("/", 1)[0]
    if isinstance(error, NoCredentialsError):
        return f"{flag}: {path!r}: no AWS credentials found: pass {CREDENTIALS}"
    if isinstance(error, ParamValidationError):
        return f"{flag}: {path!r} is not a valid S3 path ({error})"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code") or "")
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
        if code == "NoSuchBucket" or (code in ("404", "NotFound") and status == "404"):
            return (
                f"{flag}: the bucket {bucket!r} does not exist at {endpoint}: create it, or fix the bucket in {flag} "
                "(or --s3_endpoint_url, if this is not the server you meant)"
            )
        if code in _REFUSED_CREDENTIALS or status == "403":
            return f"{flag}: {endpoint} refused the credentials for {path!r} ({code}): check {CREDENTIALS}"
        if code in _WRONG_REGION or status == "301":
            return f"{flag}: the bucket {bucket!r} is in another region ({code}): set --s3_region_name (or AWS_REGION)"
        return f"{flag}: {path!r}: {endpoint} answered {code or status}: {error}; check --s3_endpoint_url"
    if isinstance(error, (BotoCoreError, ValueError)):
        return (
            f"{flag}: cannot reach the S3 endpoint {endpoint} ({error}): "
            "check --s3_endpoint_url (or AWS_ENDPOINT_URL)"
        )
    return f"{flag}: {path!r}: {type(error).__name__}: {error}"


def store_problem(path: str) -> str | None:
    """None if `path`'s store answers (or is local, or not one this can ask), else what is wrong: asked after a
    failure, so that the launcher does not spend Beam's retries (about 10 minutes each) on a store that is down."""
    if scheme(path) != "s3":
        return None
    try:
        client = _s3_client(probe=True)
        bucket, prefix = _bucket_and_key("output", path)
        client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as error:  # noqa: BLE001 - any failure to answer is the answer
        return f"{type(error).__name__}: {error}"
    return None


def create_if_absent(path: str, data: bytes) -> str | bool | None:
    """Write `path` only if no object is there (S3 `If-None-Match: *`): its ETag if written, False if one was;
    None if the store has no conditional create here (local paths use O_EXCL; gs:// is not done)."""
    return _conditional_put(path, data, IfNoneMatch="*")


def replace_if_unchanged(path: str, data: bytes, etag: str) -> str | bool | None:
    """Overwrite `path` only if it is still the object with `etag` (S3 `If-Match`): the new ETag, False if it
    changed, None if the store has no conditional writes here."""
    return _conditional_put(path, data, IfMatch=etag)


def read_with_etag(path: str) -> tuple[bytes, str] | None:
    """An S3 object's content and ETag, read in one request; None if it is missing or not on S3."""
    if scheme(path) != "s3":
        return None
    from botocore.exceptions import ClientError

    bucket, key = _bucket_and_key("output", path)
    try:
        answer = _s3_client().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")) == "404":
            return None
        raise
    return answer["Body"].read(), answer["ETag"]


def etags_under(pattern: str) -> dict[str, str]:
    """uri -> ETag of every S3 object under the part of `pattern` before its first glob character, in one
    paginated listing; empty if `pattern` is not on S3."""
    if scheme(pattern) != "s3":
        return {}
    glob = glob_start(pattern)
    bucket, key = _bucket_and_key("input", pattern if glob is None else pattern[:glob])
    pages = _s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    return {f"s3://{bucket}/{item['Key']}": item["ETag"] for page in pages for item in page.get("Contents", [])}


def _conditional_put(path: str, data: bytes, **condition: str) -> str | bool | None:
    if scheme(path) != "s3":
        return None
    from botocore.exceptions import ClientError

    bucket, key = _bucket_and_key("output", path)
    try:
        return _s3_client().put_object(Bucket=bucket, Key=key, Body=data, **condition)["ETag"]
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code") or "")
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
        if code in _PRECONDITION_FAILED or status in _PRECONDITION_FAILED:
            return False
        raise


def _bucket_and_key(flag: str, path: str) -> tuple[str, str]:
    bucket, _, key = path.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"{flag}: {path!r} names no bucket (s3://BUCKET/PREFIX)")
    return bucket, key


def _s3_client(probe: bool = False) -> Any:
    """A boto3 client with the settings Beam's S3 filesystem uses (options, then the AWS environment); `probe`:
    one that gives up after one try of PROBE_TIMEOUT_S."""
    try:
        import boto3
        from apache_beam.io.aws.clients.s3 import boto3_client
        from botocore.config import Config
    except ImportError as error:
        raise RuntimeError(
            f"s3:// needs the S3 extra: pip install 'article-enrich[s3]' (apache-beam[aws]) ({error})"
        ) from error
    if not probe:
        return boto3_client.Client(_options).client  # shared per process and settings (transforms/object_stores)
    from transforms.object_stores import s3_settings

    settings = s3_settings(_options)
    key = (os.getpid(), settings)
    if key in _probes:
        return _probes[key]
    key_id, secret, token, endpoint, region, api_version, verify, no_ssl = settings
    config = Config(
        connect_timeout=PROBE_TIMEOUT_S, read_timeout=PROBE_TIMEOUT_S, retries={"total_max_attempts": 1}
    )
    _probes[key] = boto3.session.Session().client(
        "s3",
        region_name=region,
        api_version=api_version,
        use_ssl=not no_ssl,
        verify=verify,
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=config,
    )
    return _probes[key]
