"""moto's S3 server on 127.0.0.1, in a thread of the test process, with hooks that hold or stop it mid-request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOLD_LIMIT_S = 120  # a held request goes on after this long even if the test never released it

Environ = dict[str, Any]


@dataclass
class Hook:
    """What happens to the first request whose method and path match (`path_part` in its path)."""

    path_part: str
    method: str | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, environ: Environ) -> bool:
        if self.arrived.is_set() or self.path_part not in environ.get("PATH_INFO", ""):
            return False
        return self.method is None or environ["REQUEST_METHOD"] == self.method


class S3Server:
    """moto's S3 API on 127.0.0.1 (a free port, kept across restarts). Its buckets live in moto's backend in
    this process, so they outlast `stop()` and `start()`, as a real store's objects outlast an outage."""

    def __init__(self) -> None:
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._holds: list[Hook] = []
        self._stops: list[Hook] = []
        self._down = threading.Event()
        self.requests: list[tuple[str, str, str]] = []  # (method, path, query) of every request served

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flags(self) -> list[str]:
        """The article-enrich flags that reach this server (credentials: any, moto does not check them)."""
        return [
            f"--s3_endpoint_url={self.endpoint}",
            "--s3_access_key_id=testing",
            "--s3_secret_access_key=testing",
            "--s3_region_name=us-east-1",
        ]

    def start(self) -> S3Server:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._down.clear()
        self._server = make_server(
            "127.0.0.1", self.port, self._hooked(app), threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-s3", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: clients are refused, as by a server that went down."""
        self._down.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def hold(self, path_part: str, method: str | None = None) -> Hook:
        """Hold the first matching request until `hook.release` is set (`hook.arrived` says it came)."""
        hook = Hook(path_part, method)
        self._holds.append(hook)
        return hook

    def stop_at(self, path_part: str, method: str | None = None) -> Hook:
        """At the first matching request, answer 503 and go down (every later request is refused)."""
        hook = Hook(path_part, method)
        self._stops.append(hook)
        return hook

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def _hooked(self, app: Callable) -> Callable:
        def serve(environ: Environ, start_response: Callable) -> Iterable[bytes]:
            self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
            for hook in self._stops:
                if hook.matches(environ):
                    hook.arrived.set()
                    threading.Thread(target=self.stop, daemon=True).start()
            if self._down.is_set():
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the test stopped this server"]
            for hook in self._holds:
                if hook.matches(environ):
                    hook.arrived.set()
                    hook.release.wait(HOLD_LIMIT_S)
            return app(environ, start_response)

        return serve


def upload(client: Any, folder: Path, bucket: str, prefix: str) -> list[str]:
    """Upload every file below `folder` under `prefix`; their keys."""
    keys = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        client.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
