"""What every server's metrics share: the on/off switch, a fresh registry, the readiness gauges.

``XIAOAN_METRICS=off`` switches recording and the route off (the benchmark's
"metrics off" arm, bench/metrics_overhead.py); it is read once, when the
process starts.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

METRICS_ENV = "XIAOAN_METRICS"
OTHER = "other"
UNKNOWN = "unknown"

CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

# read once: a process records for its whole life or not at all
_ENABLED = (os.environ.get(METRICS_ENV) or "on").strip().lower() not in ("off", "0", "false", "no")


def enabled() -> bool:
    return _ENABLED


disable_created_metrics()  # no *_created series: half the page, nothing a dashboard uses


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def readiness_gauges(registry: CollectorRegistry) -> "tuple[Gauge, Gauge]":
    ready = Gauge("xiaoan_ready", "1 when this server is ready to serve (xiaoan.runtime.health).", registry=registry)
    up = Gauge("xiaoan_dependency_up", "1 when the dependency answered the last readiness check.", ["dependency"],
               registry=registry)
    return ready, up
