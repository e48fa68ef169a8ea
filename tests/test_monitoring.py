"""ops/monitoring/: the Prometheus configuration, the alert rules and the Grafana dashboard, checked offline.

`promtool` (Debian's prometheus package, `make scale-deps`) checks the
configuration and runs the alert rules' unit tests (alerts_test.yml: each
alert fires on the series it is for, and not before). Every metric the
dashboard and the alerts use must be one the servers really export.
The same configuration scraping the real scale-out set-up is in tests/scale.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from xiaoan.runtime import metrics

MONITORING = Path(__file__).resolve().parents[1] / "ops" / "monitoring"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
STANDARD = {"up", "process_resident_memory_bytes", "process_cpu_seconds_total"}


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    assert Path(PROMTOOL).exists(), "promtool is missing: `make scale-deps` installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def exported_series() -> set:
    names = set(STANDARD)
    for registry in (metrics.RASA_REGISTRY, metrics.ACTION_REGISTRY):
        for family in registry.collect():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
            else:
                names.add(family.name)
    return names


def used_series(expression: str) -> set:
    return set(re.findall(r"\b((?:xiaoan|process)_[a-z_]+|up)\b(?=\s*[{\[)]|\s*$|\s*\*|\s*or)", expression))


def test_the_alert_rules_fire_when_they_should():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0 and "SUCCESS: 3 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    names = [rule["alert"] for rule in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]]
    assert names == ["XiaoanHighErrorRate", "XiaoanReplyP95AboveTarget", "XiaoanNoReadyServer"]


def test_the_prometheus_configuration_is_valid_and_scrapes_every_server_with_the_token(tmp_path):
    work = tmp_path / "ops" / "monitoring"
    work.mkdir(parents=True)
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy(MONITORING / name, work / name)
    token = tmp_path / "var" / "scale" / "auth_token"  # where `make scale` writes it, relative to the file
    token.parent.mkdir(parents=True)
    token.write_text("token")
    checked = promtool("check", "config", "prometheus.yml", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"xiaoan-rasa": ["127.0.0.1:5101", "127.0.0.1:5102"], "xiaoan-actions": ["127.0.0.1:5165"]}
    assert all(job["authorization"]["credentials_file"] == "../../var/scale/auth_token" for job in config["scrape_configs"])


def test_the_dashboard_uses_only_metrics_the_servers_export():
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    titles = {p["title"] for p in dashboard["panels"]}
    for needed in ("Traffic by channel", "Reply time (processing, after the lock)", "NLU fallback rate",
                   "Action errors", "Hand-over to a person", "Ready Rasa servers"):
        assert needed in titles
    alerts = [r["expr"] for r in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]]
    used = set().union(*(used_series(e) for e in expressions + alerts))
    assert {"xiaoan_messages_total", "xiaoan_reply_seconds_bucket", "xiaoan_ready", "xiaoan_handover_queue_length",
            "xiaoan_backoffice_seconds_bucket", "xiaoan_lock_wait_seconds_bucket"} <= used
    assert used - exported_series() == set(), "a panel or alert on a metric nobody exports"


@pytest.mark.parametrize("expression", [
    'sum(rate(xiaoan_messages_total{job="x"}[5m]))', "xiaoan_ready * on(instance) up", "up or vector(0)"])
def test_the_metric_name_reader_finds_names(expression):
    assert used_series(expression)
