"""ops/: the scale-out set-up's configuration, checked without starting servers."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from ops import scale


def test_nginx_config_is_valid_and_sticky_where_it_must_be(tmp_path):
    conf = scale.render_nginx(tmp_path, 18088, [15101, 15102])
    text = conf.read_text(encoding="utf-8")
    assert "ip_hash;" in text and "hash $arg_openid consistent;" in text
    assert text.count("server 127.0.0.1:15101") == 3
    # only message webhooks (deduplicated by message id) are retried on another server
    api_location = text.split("location / {")[1]
    assert "non_idempotent" not in api_location and text.count("non_idempotent;") == 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_scale_endpoints_use_postgres_and_the_atomic_lock(tmp_path):
    endpoints = yaml.safe_load(scale.scale_endpoints(tmp_path / "e.yml", "atomic", "xiaoanatomic").read_text())
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["type"] == "xiaoan.runtime.tracker_store.MaskingSQLTrackerStore"
    assert endpoints["lock_store"]["type"] == "xiaoan.runtime.lock_store.AtomicRedisLockStore"
    assert endpoints["lock_store"]["key_prefix"].isalnum()  # Rasa ignores any other prefix
    assert endpoints["lock_store"]["ticket_lifetime"] == scale.TICKET_LIFETIME_S
    stock = yaml.safe_load(scale.scale_endpoints(tmp_path / "s.yml", "stock", "xiaoanstock").read_text())
    assert stock["lock_store"]["type"] == "redis" and "ticket_lifetime" not in stock["lock_store"]


def test_missing_services_are_named_with_how_to_start_them(monkeypatch):
    monkeypatch.setattr(scale, "reachable", lambda host, port, timeout=2.0: port != scale.PG_PORT)
    with pytest.raises(scale.ScaleUnavailable) as missing:
        scale.check_services()
    message = str(missing.value)
    assert "PostgreSQL is not reachable" in message and "pg_ctlcluster" in message
    assert "Redis" not in message


@pytest.mark.parametrize(
    "host, token, refused",
    [("127.0.0.1", None, False), ("localhost", None, False), ("0.0.0.0", None, True),
     ("10.0.0.5", None, True), ("0.0.0.0", "s3cret-token", False)],
)
def test_http_api_leaves_loopback_only_with_a_token(host, token, refused):
    from ops.local import api_exposure_problem

    problem = api_exposure_problem(host, token)
    assert (problem is not None) == refused
    if refused:
        assert "RASA_AUTH_TOKEN" in problem
