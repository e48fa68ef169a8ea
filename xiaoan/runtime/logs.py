"""Logs as JSON lines for operations; Rasa's coloured text for a person otherwise.

Every process that ops/ starts (`make run`, `make scale`) has
``XIAOAN_LOG_FORMAT=json``: it then writes one JSON object per line on
stdout, which the supervisor keeps in the process's log file::

    {"ts": "2026-12-02T08:01:02.345Z", "level": "info", "process": "rasa-5101",
     "logger": "xiaoan.runtime.metrics", "event": "message.handled",
     "conversation_id": "load-…-007", "channel": "rest", "intent": "ask_retry",
     "replies": 2, "duration_ms": 412.3}

* ``event`` names what happened; 小安's own events carry their fields
  (`log_event`). A line from Rasa, Sanic or a library has ``event: "log"``
  and its text in ``message``; Rasa's structlog events (JSON already) are
  merged in.
* Never a secret, never what the user typed: every text field goes through
  the ingress's masking (`xiaoan.text.masking.mask_text`) and the fields
  that carry user text in Rasa's structured events (Rasa's own list, used by
  its anonymiser) are dropped. 小安's own events carry ids, names, counts
  and timings only.

Without the variable (`make shell`, `make interactive`, `make test-stories`)
Rasa logs as it always did. `make run` shows a person a readable digest of
these lines (`ops/local.py`), not the lines themselves.

`install()` replaces the one function through which Rasa's and rasa-sdk's
command lines set up console logging (``configure_colored_logging``), so a
JSON process never writes a coloured line; Sanic's loggers, which keep
their own handlers, are switched when the server's app is built
(`use_json_for_sanic`).
"""
from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from typing import Any, Callable, Dict, Optional

from xiaoan import clock

LOG_FORMAT_ENV = "XIAOAN_LOG_FORMAT"
PROCESS_ENV = "XIAOAN_PROCESS"
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")

# The keys of Rasa's structured log events that can hold what a user typed
# (rasa.utils.log_utils._anonymizer lists them): such a value is never written.
USER_TEXT_KEYS = frozenset({
    "text", "response_text", "user_text", "slot_values", "parse_data_text", "parse_data_entities",
    "prediction_events", "tracker_latest_message", "prefilled_slots", "message", "response",
    "slot_candidates", "rasa_event", "rasa_events", "tracker_states", "current_states", "old_states",
    "successes", "current_entity", "next_entity", "states", "entity", "token_text", "user_message",
    "json_message",
})
OMITTED = "[omitted]"
_RECORD_FIELDS = "xiaoan_fields"


def json_logging_wanted() -> bool:
    return (os.environ.get(LOG_FORMAT_ENV) or "").strip().lower() == "json"


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """One event with its fields (ids, names, counts, timings; never user text)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_RECORD_FIELDS: {k: v for k, v in fields.items() if v is not None}})


def _mask(value: str) -> str:
    from xiaoan.text.masking import mask_text

    return mask_text(value)


def _clean(value: Any) -> Any:
    """Strings masked, containers walked; numbers and booleans as they are."""
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, dict):
        return {str(k): (OMITTED if k in USER_TEXT_KEYS else _clean(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _mask(str(value))


def _structured(message: str) -> Optional[Dict[str, Any]]:
    """Rasa's structlog events arrive as one JSON object already rendered."""
    if not (message.startswith("{") and message.endswith("}")):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "event" in parsed else None


class JsonLinesFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, process, logger, event and its fields."""

    def __init__(self, process: Optional[str] = None) -> None:
        super().__init__()
        self.process = process if process is not None else os.environ.get(PROCESS_ENV, "")

    def format(self, record: logging.LogRecord) -> str:
        line: Dict[str, Any] = {
            "ts": clock.for_logs(record.created),
            "level": record.levelname.lower(),
            "process": self.process,
            "logger": record.name,
        }
        fields = getattr(record, _RECORD_FIELDS, None)
        if isinstance(fields, dict):
            line["event"] = str(record.msg)
            for key, value in fields.items():
                if key not in line:
                    line[key] = OMITTED if key in USER_TEXT_KEYS else _clean(value)
        else:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string must not lose the line
                message = str(record.msg)
            structured = _structured(message)
            if structured is not None:
                for key, value in structured.items():
                    if key not in ("level", "timestamp"):
                        line.setdefault(key, OMITTED if key in USER_TEXT_KEYS else _clean(value))
            else:
                line["event"] = "log"
                line["message"] = _mask(message)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = _mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonLinesFormatter())
    setattr(handler, "xiaoan_json", True)
    return handler


def use_json_logging(level: Any = None) -> None:
    """The root logger writes JSON lines to stdout, nothing else; Python warnings become records."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(json_handler())
    if level is not None:
        root.setLevel(level if isinstance(level, int) else logging.getLevelName(str(level).upper()))
    logging.captureWarnings(True)
    # libraries' deprecation notes are for developers, not an operations log
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # python-socketio / python-engineio give their loggers a plain-text stderr handler when they are
    # built, unless the logger already has a level: set one. Rasa's start-up (update_socketio_log_level)
    # also stops them propagating, which leaves their errors to logging's bare last-resort line on
    # stderr: let them propagate to the JSON handler.
    for name in ("socketio.server", "engineio.server"):
        library = logging.getLogger(name)
        if library.level == logging.NOTSET:
            library.setLevel(logging.ERROR)
        library.propagate = True
        for handler in [h for h in library.handlers if not getattr(h, "xiaoan_json", False)]:
            library.removeHandler(handler)
    # jieba gives itself a stderr handler and logs its dictionary load at DEBUG: warnings only
    jieba = logging.getLogger("jieba")
    if not any(isinstance(f, _AtLeastWarning) for f in jieba.filters):
        jieba.addFilter(_AtLeastWarning())


class _AtLeastWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def use_json_for_sanic() -> None:
    """Sanic's loggers keep their own handlers (and do not propagate): JSON lines too."""
    if not json_logging_wanted():
        return
    for name in SANIC_LOGGERS:
        sanic_logger = logging.getLogger(name)
        for handler in list(sanic_logger.handlers):
            sanic_logger.removeHandler(handler)
        sanic_logger.addHandler(json_handler())


def _console_logging(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def configure(loglevel: Any) -> None:
        if json_logging_wanted():
            use_json_logging(loglevel or os.environ.get("LOG_LEVEL") or "INFO")
        else:
            original(loglevel)

    configure.xiaoan_original = original  # type: ignore[attr-defined]
    return configure


def install() -> None:
    """Rasa's and rasa-sdk's console set-up write JSON lines when XIAOAN_LOG_FORMAT=json. Idempotent."""
    if json_logging_wanted():  # from the first import on: warnings raised while Rasa loads are lines too
        use_json_logging(os.environ.get("LOG_LEVEL") or "INFO")
    import rasa.utils.io
    import rasa_sdk.utils

    for module in (rasa.utils.io, rasa_sdk.utils):
        current = module.configure_colored_logging
        if not hasattr(current, "xiaoan_original"):
            module.configure_colored_logging = _console_logging(current)  # type: ignore[assignment]
