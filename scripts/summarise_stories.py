"""A readable summary of `rasa test core` for support staff."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def story_names(path: Path) -> list[str]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [s.get("story", "?") for s in data.get("stories", [])]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/core")
    total = story_names(Path("tests/test_stories.yml"))
    failed = story_names(out / "failed_test_stories.yml")
    print(f"test stories: {len(total)} run, {len(total) - len(failed)} passed, {len(failed)} failed")
    for name in failed:
        print(f"  FAILED: {name}")
    report = out / "story_report.json"
    if report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
        acc = data.get("accuracy")
        if acc is not None:
            print(f"action-level accuracy: {acc:.4f}")
    print(f"failed stories (bot's actual predictions marked): {out}/failed_test_stories.yml")
    reports = sorted(Path("results").glob("*/*.png")) + sorted(Path("results").glob("*/*report.json"))
    for path in reports:
        print(f"  report: {path}")
    if not any(p.name == "intent_confusion_matrix.png" for p in reports):
        print("  (intent confusion matrix and histogram: run `make test-nlu`, they land in results/nlu/)")


if __name__ == "__main__":
    main()
