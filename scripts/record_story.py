"""Talk to a running 小安 and write the conversation down as a test story.

For support staff: say what a user would say, read the story that comes
out, check every bot step is what you expect, then paste it into
tests/test_stories.yml.

    .venv/bin/python scripts/record_story.py "通讯失败，终端号10000002" "好的" --name "离线终端"
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid

# Slots that steer the dialogue; other slots are bookkeeping and stay out of stories.
STORY_SLOTS = {"check_kind", "requested_slot"}
SKIP_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots"}


def _call(url: str, payload: dict | None = None) -> object:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode())


def annotate(text: str, entities: list[dict]) -> str:
    """The text with Rasa's inline entity annotations and normalised values."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        span = text[e["start"] : e["end"]]
        out.append(text[pos : e["start"]])
        value = str(e.get("value"))
        if value == span:
            out.append(f"[{span}]({e['entity']})")
        else:
            out.append(f'[{span}]{{"entity": "{e["entity"]}", "value": "{value}"}}')
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out)


def story_lines(name: str, events: list[dict]) -> list[str]:
    lines = [f"  - story: {name}", "    steps:"]
    slots: dict[str, object] = {}
    for e in events:
        kind = e.get("event")
        if kind == "user":
            parse = e.get("parse_data") or {}
            text = annotate(e.get("text") or "", parse.get("entities") or [])
            lines += ["      - user: |", f"          {text}", f"        intent: {parse['intent']['name']}"]
        elif kind == "action" and e.get("name") not in SKIP_ACTIONS:
            lines.append(f"      - action: {e['name']}")
        elif kind == "slot" and e.get("name") in STORY_SLOTS:
            if e["name"] in slots and slots[e["name"]] == e.get("value"):
                continue  # re-asserted, not changed
            slots[e["name"]] = e.get("value")
            value = "null" if e.get("value") is None else e["value"]
            lines += ["      - slot_was_set:", f"          - {e['name']}: {value}"]
        elif kind == "active_loop":
            lines.append(f"      - active_loop: {e.get('name') or 'null'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", nargs="+")
    parser.add_argument("--name", default="recorded story")
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    args = parser.parse_args()
    sender = f"story-{uuid.uuid4().hex[:8]}"
    for message in args.messages:
        replies = _call(f"{args.url}/webhooks/rest/webhook", {"sender": sender, "message": message})
        for reply in replies:
            print(f"# {message} -> {str(reply.get('text', ''))[:60]}", file=sys.stderr)
    tracker = _call(f"{args.url}/conversations/{sender}/tracker")
    print("\n".join(story_lines(args.name, tracker["events"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
