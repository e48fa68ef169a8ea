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
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from xiaoan.components.fingerprint import MODEL_FOLDERS  # noqa: E402

MODELS = ROOT / "models"
RECORD = MODELS / ".inputs"
# Everything training reads: data, domain and config, the versions that run them, and the
# Python code that runs inside the model, the folders the components' own fingerprint covers
# (xiaoan/runtime, the server around the model, and fraud_patterns.yml, read by the ingress at run
# time, never retrain).
INPUTS = ("data", "domain.yml", "config.yml", "requirements.txt")
SKIPPED_PARTS = {"__pycache__"}
BACKUP_SUFFIXES = ("~", ".swp", ".swo", ".bak", ".orig")


def _counts(path: Path) -> bool:
    """Editor backups, hidden files and bytecode are not inputs."""
    return (
        path.is_file()
        and not SKIPPED_PARTS.intersection(path.parts)
        and not path.name.startswith(".")
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


def newest_model() -> Path | None:
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def is_current(salt: str = "") -> bool:
    model = newest_model()
    if model is None or not RECORD.is_file():
        return False
    recorded = RECORD.read_text(encoding="utf-8").split()
    return recorded == [inputs_hash(salt), model.name]


def record(trained_from: str | None = None, salt: str = "") -> None:
    """Vouch for the newest model. The hash is taken before training, so an edit made while it ran
    is not vouched for."""
    model = newest_model()
    if model is None:
        raise SystemExit("no model in models/ to record")
    RECORD.write_text(f"{trained_from or inputs_hash(salt)} {model.name}\n", encoding="utf-8")


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
        for path in input_files():
            print(hashlib.sha256(path.read_bytes()).hexdigest()[:16], path.relative_to(ROOT).as_posix())
        return 0
    if args.record is not None:
        record(args.record or None, args.salt)
        return 0
    if is_current(args.salt):
        print(f"model is current: models/{newest_model().name} (inputs unchanged)")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
