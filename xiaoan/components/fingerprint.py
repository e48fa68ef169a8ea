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


def files_fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """All of the xiaoan package's Python source."""
    return files_fingerprint(PACKAGE.rglob("*.py"))
