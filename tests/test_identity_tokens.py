"""Identity tokens (CONTRACT §8): what a leaked or over-long token is worth, and a deployment's audience and issuer.

Attacks from issue 19: a token signed to live for years (by a careless portal, or leaked from one) was good
until its far `exp`; a token for another service of the bank sharing the secret was taken. The contract's
honest token (only `sub` and `exp`, up to 8 hours) is still accepted.
"""
from __future__ import annotations

import jwt
import pytest

from xiaoan import clock
from xiaoan.identity import tokens

KEY = "a-test-identity-secret-of-32-chars!"
NOW = 1_796_000_000.0


def token(**claims) -> str:
    return jwt.encode(claims, KEY, algorithm="HS256")


def test_the_contracts_token_is_good():
    assert tokens.verify(token(sub="C0001", exp=NOW + 8 * 3600), KEY, now=NOW).subject == "C0001"
    assert tokens.verify(token(sub="M0001", exp=NOW + 60), KEY, now=NOW).subject == "M0001"


@pytest.mark.parametrize("claims", [
    {"sub": "C0001", "exp": NOW + 10 * 365 * 86400},  # years ahead
    {"sub": "C0001", "exp": NOW + 9 * 3600},  # more than 8 hours
    {"sub": "C0001", "iat": NOW - 30 * 86400, "exp": NOW + 3600},  # a month-long token near its end
    {"sub": "C0001", "iat": NOW + 3600, "exp": NOW + 7200},  # issued in the future
])
def test_a_token_living_longer_than_allowed_is_refused(claims):
    verdict = tokens.verify(token(**claims), KEY, now=NOW)
    assert verdict.subject is None and verdict.problem == tokens.MALFORMED


def test_a_deployment_may_shorten_the_lifetime_never_lengthen_it(monkeypatch):
    monkeypatch.setenv("XIAOAN_IDENTITY_MAX_LIFETIME_S", "900")
    assert tokens.verify(token(sub="C0001", exp=NOW + 3600), KEY, now=NOW).problem == tokens.MALFORMED
    assert tokens.verify(token(sub="C0001", exp=NOW + 600), KEY, now=NOW).subject == "C0001"
    monkeypatch.setenv("XIAOAN_IDENTITY_MAX_LIFETIME_S", str(30 * 86400))
    assert tokens.verify(token(sub="C0001", exp=NOW + 9 * 3600), KEY, now=NOW).problem == tokens.MALFORMED


def test_an_audience_and_issuer_once_configured_are_required(monkeypatch):
    monkeypatch.setenv("XIAOAN_IDENTITY_AUDIENCE", "xiaoan")
    monkeypatch.setenv("XIAOAN_IDENTITY_ISSUER", "https://portal.bank.example")
    good = token(sub="C0001", exp=NOW + 3600, aud="xiaoan", iss="https://portal.bank.example")
    assert tokens.verify(good, KEY, now=NOW).subject == "C0001"
    for claims in ({}, {"aud": "loans-app", "iss": "https://portal.bank.example"},
                   {"aud": "xiaoan", "iss": "https://evil.example"}, {"aud": "xiaoan"}):
        assert tokens.verify(token(sub="C0001", exp=NOW + 3600, **claims), KEY, now=NOW).subject is None
    with clock.fixed(NOW):  # what make identity-token and the demo links sign carries them
        assert tokens.verify(tokens.sign("C0001", KEY, lifetime_s=3600), KEY, now=NOW).subject == "C0001"


def test_expiry_is_read_on_the_products_clock():
    signed = token(sub="C0001", exp=NOW + 60)
    with clock.fixed(NOW):
        assert tokens.verify(signed, KEY).subject == "C0001"
    with clock.fixed(NOW + 61):
        assert tokens.verify(signed, KEY).problem == tokens.EXPIRED
