"""Asking a server from outside whether it answers: an HTTP status, a JSON health body, a port taken.

The terminal display, the health watch and the tests judge liveness and readiness
this way, as a load balancer would, never from inside the process.
"""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple


def http_status(url: str, timeout: float = 2.0) -> Optional[int]:
    """The HTTP status of a GET, or None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def http_json(url: str, timeout: float = 2.0) -> Tuple[Optional[int], Dict[str, Any]]:
    """The HTTP status and JSON body of a GET (a readiness answer says which check fails); (None, {}) if
    nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, OSError, ValueError):
        return None, {}


def port_in_use(port: int) -> bool:
    """Something listens on 127.0.0.1:`port` (a server of another run, or one that outlived its stop)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
