"""The rules the test suite keeps about itself.

* Every module in tests/live is `live`-marked, and only tests/conftest.py reads the switch
  (XIAOAN_LIVE_TESTS or --live): one way to skip them, the same everywhere.
* A test that needs the trained model asks for the `trained_model` fixture, which fails without
  one (never a silent skip).
"""
from __future__ import annotations

import re

import pytest

from tests.helpers import ROOT

TESTS = ROOT / "tests"
LIVE = sorted((TESTS / "live").glob("test_*.py"))


@pytest.mark.parametrize("module", LIVE, ids=lambda path: path.name)
def test_every_live_module_is_marked_live(module):
    assert "\npytestmark = pytest.mark.live\n" in module.read_text(encoding="utf-8")


def test_only_conftest_reads_the_live_switch():
    readers = [path.relative_to(ROOT).as_posix() for path in TESTS.rglob("*.py")
               if path.name != "conftest.py" and re.search(r"XIAOAN_LIVE_TESTS\b[\"')]|getoption\(\"--live",
                                                           path.read_text(encoding="utf-8"))]
    assert readers == []


def test_no_test_skips_for_want_of_a_model():
    skipping = [path.relative_to(ROOT).as_posix() for path in TESTS.rglob("test_*.py")
                if re.search(r"skip\w*\([^)]*model", path.read_text(encoding="utf-8"), re.S)]
    assert skipping == []
