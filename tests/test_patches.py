"""Every patch of a Rasa or library internal (xiaoan/runtime/patches.py) still fits what it patches.

One test per row: an upgrade that renames, moves or reshapes a patched internal fails here by the row's
name. Plus: the table is the only place such changes are made, and the console's copy of Rasa's events
table matches Rasa's.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from xiaoan.runtime import patches

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("patch", patches.PATCHES, ids=lambda p: p.name)
def test_each_patched_internal_still_looks_as_the_patch_expects(patch):
    patch.expect()


def test_a_moved_internal_fails_its_check(monkeypatch):
    """The checks can fail: Rasa renaming a parameter of a patched method is caught."""
    from rasa.core.actions.action import RemoteAction

    def renamed(self, response):  # what an upgrade might ship
        return True

    monkeypatch.setattr(RemoteAction, "_validate_action_result", renamed)
    row = next(p for p in patches.PATCHES if p.name == "action-replies")
    with pytest.raises(patches.PatchMismatch, match="_validate_action_result"):
        row.expect()


def test_the_consoles_copy_of_the_events_table_is_rasas():
    from console.transcripts import events

    assert tuple((c.name, str(c.type)) for c in events.columns) == patches.RASA_EVENT_COLUMNS
    assert events.name == "events"


# Assignments into Rasa, rasa-sdk or sys.modules: only xiaoan/runtime/patches.py and the installers it names.
PATCHING = re.compile(r"^\s*(rasa(_sdk)?\.[\w.]+|RemoteAction\.\w+|RasaModel\.\w+|sys\.modules\[[^\]]+\])\s*=|"
                      r"sys\.modules\.setdefault\(", re.M)
INSTALLERS = {"xiaoan/runtime/patches.py", "xiaoan/runtime/action_replies.py", "xiaoan/runtime/operations.py", "xiaoan/runtime/logs.py"}


def test_internals_are_changed_only_through_the_table():
    found = []
    for folder in ("actions", "channels", "console", "xiaoan", "ops", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name not in INSTALLERS and PATCHING.search(path.read_text(encoding="utf-8")):
                found.append(name)
    assert found == []
