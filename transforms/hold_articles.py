"""HoldArticles: park articles in files until a barrier (a side input) is complete, then stream them on."""

from __future__ import annotations

import io
import pickle
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms.core import layout
from transforms.core.types import Article

ARTICLES_PER_FILE = 64  # small files: the runner shares them out by count, so its workers get even shares
BYTES_PER_FILE = 1 << 20
_DONE = "done"


class HoldArticles(beam.PTransform):
    """The same articles, re-read from files under `temp_root` in a stage that starts once `until` is complete.

    A ParDo whose side input is computed from its own main input makes the runner keep that whole input
    until the side input is ready: the DirectRunner holds every article in the launcher's memory. Parked in
    files (64 per file) instead, only the file names wait; the files are deleted at the end.
    Stages after HoldArticles that take `until` (or anything computed before it) as a side input run fused
    with the re-read, so the articles stream on to them. `temp_root` must be visible to every worker (the
    run's output folder is).
    """

    def __init__(self, temp_root: str, until: beam.PCollection) -> None:
        super().__init__()
        self._folder = f"{temp_root.rstrip('/')}/{layout.HELD}{uuid.uuid4().hex}"
        self._until = until

    def expand(self, articles):
        released = (
            articles
            | "Park" >> beam.ParDo(_ParkFn(self._folder))
            | "SpreadFiles" >> beam.Reshuffle()
            | "Release"
            >> beam.ParDo(_ReleaseFn(), until=beam.pvalue.AsIter(self._until)).with_outputs(_DONE, main="articles")
        )
        _ = (
            released[_DONE]
            | "KeyReleasedFiles" >> beam.Map(lambda path: (None, path))
            | "AllReleasedFiles" >> beam.GroupByKey()
            | "DeleteFolder" >> beam.Map(_delete_folder, self._folder)
        )
        return released["articles"]


class _ParkFn(beam.DoFn):
    """Appends articles (pickled, one after another) to a file per bundle, a new one every 64 (or 1 MiB)."""

    def __init__(self, folder: str) -> None:
        self._folder = folder

    def start_bundle(self) -> None:
        self._buffer = io.BytesIO()
        self._articles = 0

    def process(self, article: Article) -> Iterator[str]:
        pickle.dump(article, self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._articles += 1
        if self._articles >= ARTICLES_PER_FILE or self._buffer.tell() >= BYTES_PER_FILE:
            yield self._write()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._articles:
            yield WindowedValue(self._write(), MIN_TIMESTAMP, (GlobalWindow(),))

    def _write(self) -> str:
        path = f"{self._folder}/{uuid.uuid4().hex}.pickle"
        with FileSystems.create(path) as handle:
            handle.write(self._buffer.getbuffer())
        self._buffer = io.BytesIO()
        self._articles = 0
        return path


class _ReleaseFn(beam.DoFn):
    def process(self, path: str, until: Iterable) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            data = io.BytesIO(handle.read())
        while data.tell() < len(data.getbuffer()):
            yield pickle.load(data)
        yield beam.pvalue.TaggedOutput(_DONE, path)


def _delete_folder(key_files: tuple[None, Iterable[str]], folder: str) -> int:
    """Delete the held files and their folder once every file was released (a retried bundle re-reads)."""
    files = list(key_files[1])
    if files:
        FileSystems.delete(files)
    if FileSystems.exists(folder):  # a local folder; object stores have no folder objects
        FileSystems.delete([folder])
    return len(files)
