"""docs/coverage.md names responses and test stories: every one of them must exist, so the map
from the domain source to the answers cannot go stale when a response or a story is renamed."""
import re
from pathlib import Path

import yaml

from xiaoan import content

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
STORIES = {s["story"] for s in yaml.safe_load((ROOT / "tests" / "test_stories.yml").read_text(encoding="utf-8"))["stories"]}


def _rows():
    return [line for line in PAGE.splitlines() if line.startswith("| ") and not line.startswith("|---")]


def test_every_response_named_exists():
    named = set(re.findall(r"`(utter_[a-z0-9_]+)`", PAGE))
    assert named, "the page names no response"
    missing = {name for name in named if name not in content.responses() and not name.endswith("_")}
    assert not missing, f"responses named in docs/coverage.md that domain.yml lacks: {sorted(missing)}"


def _story_cells():
    """The third column of every table that has one: the stories that reach each point."""
    for row in _rows():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2] not in ("story", ""):
            yield cells[2]


def test_every_story_named_exists():
    named = [part for cell in _story_cells() for part in cell.split("; ")]
    assert len(set(named)) >= 25, "the page should name the stories that reach the source's points"
    missing = sorted(set(named) - STORIES)
    assert not missing, f"stories named in docs/coverage.md that tests/test_stories.yml lacks: {missing}"
