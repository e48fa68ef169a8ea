"""GET /metrics on a server's own port, and who may read it (the HTTP API's rule)."""
from __future__ import annotations

import hmac
import ipaddress
from typing import Any, Optional

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from xiaoan.runtime.metrics.common import enabled

METRICS_PATH = "/metrics"

LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def is_loopback(address: Optional[str]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in LOOPBACK_NETWORKS)


def supplied_token(request: Any) -> Optional[str]:
    """`Authorization: Bearer <token>` (Prometheus' credentials_file) or ``?token=`` (Rasa's API)."""
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = request.args.get("token")
    return token if isinstance(token, str) else None


def access_refused(request: Any, token: Optional[str]) -> Optional[int]:
    """None if the caller may read; else the HTTP status.

    The HTTP API's rule (README "Faults, persistence and scale-out"): with a
    token configured, the token is required, from anywhere; without one, only
    a caller on this machine that did not come through a proxy.
    """
    if token:
        given = supplied_token(request)
        return None if given is not None and hmac.compare_digest(given.encode(), token.encode()) else 401
    if is_loopback(request.ip) and not request.headers.get("x-forwarded-for"):
        return None
    return 403


def attach(app: Any, registry: CollectorRegistry, token: Optional[str]) -> None:
    """GET /metrics on `app`, under `access_refused`'s rule (no route with XIAOAN_METRICS=off)."""
    if not enabled():
        return
    from sanic import response

    async def metrics_route(request: Any) -> Any:
        refused = access_refused(request, token)
        if refused is not None:
            return response.json({"error": "unauthorized" if refused == 401 else "forbidden"}, status=refused)
        return response.raw(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_route(metrics_route, METRICS_PATH, methods=["GET"], name="xiaoan_metrics")
