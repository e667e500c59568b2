"""Standard error for the user: the run's own warnings, and those of its worker processes, without Beam's chatter."""

from __future__ import annotations

import logging

# The DirectRunner's multi-process mode relays every worker log entry through this logger as "Worker: <entry>".
RELAY_LOGGER = "apache_beam.runners.portability.local_job_service"
_BEAM_PACKAGE = "/apache_beam/"


def configure_logging() -> None:
    """Warnings and errors on standard error, one line each; worker entries come through as their own."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger(RELAY_LOGGER).addFilter(WorkerRelayFilter())


class WorkerRelayFilter(logging.Filter):
    """Relayed worker entries: the pipeline's own pass, reworded; Beam's start-up chatter below ERROR goes.

    Each worker process says at start that it found no semi-persistent directory and discards the
    DirectRunner's own flags: nothing about the user's run. The job service's own messages below ERROR
    go too, as they did before workers were relayed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Worker: %s" or not record.args:
            return record.levelno >= logging.ERROR
        # Imported here: a command that never starts a job (--help, a config error) never loads Beam.
        from apache_beam.portability.api import beam_fn_api_pb2
        from google.protobuf import text_format

        entry = beam_fn_api_pb2.LogEntry()
        try:
            text_format.Parse(str(record.args[0]), entry)
        except text_format.ParseError:
            return True
        if _BEAM_PACKAGE in entry.log_location and record.levelno < logging.ERROR:
            return False
        step = f" in {entry.transform_id}" if entry.transform_id else ""
        record.msg, record.args = "worker%s (%s): %s", (step, entry.log_location, entry.message)
        return True
