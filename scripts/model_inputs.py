#!/usr/bin/env python3
"""Tell `make train` whether the newest model was trained from today's inputs.

usage: model_inputs.py --check          exit 0 when models/ holds a model trained from these inputs
       (each takes --salt "<the training command and settings>", which is hashed with the files)
       model_inputs.py --hash           print the inputs' hash (taken before training starts)
       model_inputs.py --record [HASH]  note that the newest model was trained from inputs with HASH
                                        (default: the inputs as they are now)
       model_inputs.py --list           print each input file's SHA-256 and path (diff two listings to
                                        see which file moved the hash)

Why: Rasa 3 has no "nothing changed" exit. `rasa train` restores every unchanged
component from its cache but still packs and writes a new 66 MB model, about half a
minute on 2 cores, and `make test` calls `make train` before each of its steps.
This script hashes what a model is made from (training data, domain, config, the
project's own NLU/policy code, the pinned requirements and the training command) and
keeps the hash beside the model it produced (models/.inputs). Any change, or a newer
model trained by hand, makes --check fail and `make train` train again. A model copied
in from elsewhere has no record and is retrained; `--record` adopts it when you know it
was trained from this checkout.

Beside the hash, --record keeps each input's digest (models/.inputs.files), and a --check
that fails says why on stderr: no model, no record, another model, the training command, or
which input files were added, removed or changed since the model was recorded. So a run that
retrains names the file that moved (issue 22: a clean `make test` retrained on every step).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from xiaoan.components.fingerprint import MODEL_FOLDERS  # noqa: E402

MODELS = ROOT / "models"
RECORD = MODELS / ".inputs"
LISTING = MODELS / ".inputs.files"
# Everything training reads: data, domain and config, the versions that run them, and the
# Python code that runs inside the model, the folders the components' own fingerprint covers
# (xiaoan/runtime, the server around the model, and fraud_patterns.yml, read by the ingress at run
# time, never retrain).
INPUTS = ("data", "domain.yml", "config.yml", "requirements.txt")
SKIPPED_PARTS = {"__pycache__"}
BACKUP_SUFFIXES = ("~", ".swp", ".swo", ".bak", ".orig")


def _counts(path: Path) -> bool:
    """Editor backups, bytecode, and hidden files and folders (a tool's cache such as .ipynb_checkpoints,
    .mypy_cache or .hypothesis written inside data/ or xiaoan/) are not inputs."""
    parts = path.relative_to(ROOT).parts
    return (
        path.is_file()
        and not SKIPPED_PARTS.intersection(parts)
        and not any(part.startswith(".") for part in parts)
        and not path.name.endswith(BACKUP_SUFFIXES)
        and path.suffix != ".pyc"
    )


def input_files() -> list[Path]:
    """Every file training depends on, in a stable order."""
    files: list[Path] = []
    for name in INPUTS:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if _counts(p))
    for folder in MODEL_FOLDERS:
        files.extend(p for p in (ROOT / "xiaoan" / folder).rglob("*.py") if _counts(p))
    return sorted(files)


def inputs_hash(salt: str = "") -> str:
    """One SHA-256 over the training command (salt), and the relative path and bytes of every input file."""
    digest = hashlib.sha256(salt.encode())
    for path in input_files():
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def listing() -> dict[str, str]:
    """Each input file's relative path and SHA-256."""
    return {path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in input_files()}


def newest_model() -> Path | None:
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def is_current(salt: str = "") -> bool:
    return why_not_current(salt) is None


def why_not_current(salt: str = "") -> str | None:
    """None when the newest model was recorded as trained from today's inputs; else what differs."""
    model = newest_model()
    if model is None:
        return "no model in models/"
    if not RECORD.is_file():
        return f"no record of what models/{model.name} was trained from (models/.inputs)"
    recorded = RECORD.read_text(encoding="utf-8").split()
    if recorded[1:] != [model.name]:
        return f"the newest model, models/{model.name}, is not the recorded one ({' '.join(recorded[1:]) or 'none'})"
    if recorded[:1] == [inputs_hash(salt)]:
        return None
    return "inputs changed since the model was recorded: " + changed_inputs(salt)


def changed_inputs(salt: str = "") -> str:
    """Which files differ from the listing --record kept (or the training command, when none does)."""
    try:
        before = json.loads(LISTING.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "(no per-file listing was recorded)"
    now = listing()
    changes = [f"+{name}" for name in sorted(now.keys() - before["files"].keys())]
    changes += [f"-{name}" for name in sorted(before["files"].keys() - now.keys())]
    changes += [f"~{name}" for name in sorted(now.keys() & before["files"].keys()) if now[name] != before["files"][name]]
    if before.get("salt") != salt:
        changes.append(f"the training command ({before.get('salt')!r} -> {salt!r})")
    if not changes:  # the hash was taken before training, the listing after: training itself moved an input
        changes.append("no file differs from the listing taken when the model was recorded, so an input "
                       "changed while training ran")
    return ", ".join(changes)


def record(trained_from: str | None = None, salt: str = "") -> None:
    """Vouch for the newest model. The hash is taken before training, so an edit made while it ran
    is not vouched for."""
    model = newest_model()
    if model is None:
        raise SystemExit("no model in models/ to record")
    now = inputs_hash(salt)
    if trained_from and trained_from != now:
        print("model_inputs: an input changed while training ran; the next make train retrains", file=sys.stderr)
    RECORD.write_text(f"{trained_from or now} {model.name}\n", encoding="utf-8")
    LISTING.write_text(json.dumps({"salt": salt, "files": listing()}, indent=1, sort_keys=True) + "\n",
                       encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--hash", action="store_true")
    mode.add_argument("--record", nargs="?", const="", metavar="HASH")
    mode.add_argument("--list", action="store_true")
    parser.add_argument("--salt", default="", help="the training command and settings (make passes them)")
    args = parser.parse_args(argv)
    if args.hash:
        print(inputs_hash(args.salt))
        return 0
    if args.list:
        for name, digest in listing().items():
            print(digest[:16], name)
        return 0
    if args.record is not None:
        record(args.record or None, args.salt)
        return 0
    reason = why_not_current(args.salt)
    if reason is None:
        print(f"model is current: models/{newest_model().name} (inputs unchanged)")
        return 0
    print(f"training: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
