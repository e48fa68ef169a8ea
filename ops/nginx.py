"""nginx in front of several Rasa servers: the configuration, rendered from `nginx.conf.template`.

`ops/scale.py` renders it at the start; the health watch (`ops/healthwatch.py`)
renders it again with the servers that are not ready marked ``down`` and
makes nginx reload it (SIGHUP: new workers take new requests, the old ones
finish theirs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Passive check on top of readiness: a server that refuses 3 connections is skipped for 5 s.
SERVER_OPTIONS = "max_fails=3 fail_timeout=5s"


def upstream_lines(ports: List[int], down: Iterable[int] = ()) -> str:
    down = set(down)
    return "\n".join(
        f"        server 127.0.0.1:{port} {SERVER_OPTIONS}{' down' if port in down else ''};" for port in ports
    )


def render(work: Path, listen: int, ports: List[int], down: Iterable[int] = ()) -> Path:
    """Writes `work`/nginx.conf; every server listed, those in `down` marked down (never all of them)."""
    down = set(down)
    if set(ports) <= down:
        down = set()  # no server ready: let nginx try them all (a server that is not ready answers 503 at once)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.read_text(encoding="utf-8").format(
        work=work, listen=f"127.0.0.1:{listen}", servers=upstream_lines(ports, down)
    )
    path = work / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path
