"""Who a request comes from, by network address: the TCP peer, or behind a configured proxy, its client.

The console's sign-in throttle and the message rates both count per address. An address a client
writes itself (X-Forwarded-For) proves nothing unless the peer is a proxy the deployment named; then
the client is the rightmost address that is not one of its proxies. IPv6 clients count per /64 (one
host is given a whole /64). Written once, for both.
"""
from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from typing import Optional

UNKNOWN_ADDRESS = "unknown"


def normal_address(raw: Optional[str]) -> Optional[str]:
    """An IP address written the one way (IPv4 mapped in IPv6 as IPv4), or None if it is none."""
    try:
        found = ipaddress.ip_address((raw or "").strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    return str(found)


@lru_cache(maxsize=16)
def _parsed(raw: str) -> "frozenset[str]":
    return frozenset(filter(None, (normal_address(part) for part in raw.replace(";", ",").split(","))))


def addresses_named(env: str, default: str = "") -> "frozenset[str]":
    """The addresses an environment variable lists (comma or semicolon), parsed once per value."""
    return _parsed(os.environ.get(env, default) or "")


def client_address(peer: Optional[str], forwarded_for: Optional[str], proxies: "frozenset[str]") -> str:
    """The TCP peer; behind a trusted proxy, the rightmost X-Forwarded-For address that is not one
    (what the client wrote to the left of it is ignored)."""
    address = normal_address(peer)
    if address is not None and address in proxies and forwarded_for:
        for hop in reversed(forwarded_for.split(",")):
            hop_address = normal_address(hop)
            if hop_address is None:
                break  # garbled: keep the last address that was sure
            address = hop_address
            if hop_address not in proxies:
                break
    if address is None:
        return UNKNOWN_ADDRESS
    if ":" in address:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address
