"""A fingerprint of the code and files a component depends on.

Rasa decides whether to retrain from the config and the data; it does not
see a change in a custom component's code or in the jieba dictionary. Each
component returns this from `fingerprint_addon`, so such a change retrains.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

PACKAGE = Path(__file__).resolve().parents[1]
# Code that runs in the Rasa server around the model, never inside the NLU
# pipeline: changing it must not retrain. Anything not listed counts (a new
# module retrains once too often rather than once too few).
SERVER_SIDE = {
    "busy.py", "processor.py", "replay.py", "serve.py", "fast_validation.py", "fast_events.py", "lean_model_load.py", "lock_store.py", "tracker_store.py",
}


def files_fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The xiaoan package's Python source that the NLU components can run."""
    return files_fingerprint(p for p in PACKAGE.rglob("*.py") if p.name not in SERVER_SIDE)
