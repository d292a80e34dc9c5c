"""Structured logs: one JSON object per line, carrying the request id of the request or
job it belongs to. Plain stdlib logging, kept low in the tree so that the API, the worker
and the command line set it up from one place without importing one another."""

import logging
import logging.config
import time
from contextvars import ContextVar

import orjson

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonLines(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure(level: str = "INFO") -> dict:
    """Log as JSON lines to stderr; returned too, for uvicorn's log_config."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")
        },
    }
    logging.config.dictConfig(config)
    return config
