"""A back office whose every call is timed and whose errors are counted, by method name
(``xiaoan_backoffice_*`` on the action server's /metrics).

It is a wrapper, and says so: it is a `BackOffice` because it answers every method of the
interface (through the wrapped one), not because it pretends to be the wrapped class.
`isinstance(x, BackOffice)` holds for it; what stands behind it is `uninstrumented`.
"""
from __future__ import annotations

import time
from typing import Any

from actions.backoffice.interface import BackOffice
from xiaoan.runtime.metrics.action_server import BACKOFFICE_FAILURES, BACKOFFICE_SECONDS
from xiaoan.runtime.metrics.common import enabled


class InstrumentedBackOffice:
    """Times each call of the wrapped back office; attributes are the wrapped one's."""

    def __init__(self, inner: BackOffice) -> None:
        self._inner = inner

    @property
    def uninstrumented(self) -> BackOffice:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            except Exception:
                if enabled():
                    BACKOFFICE_FAILURES.labels(name).inc()
                raise
            finally:
                if enabled():
                    BACKOFFICE_SECONDS.labels(name).observe(time.perf_counter() - started)

        timed.__name__ = name
        return timed


def instrumented(backoffice: BackOffice) -> BackOffice:
    return InstrumentedBackOffice(backoffice)  # type: ignore[return-value] - a BackOffice through __getattr__
