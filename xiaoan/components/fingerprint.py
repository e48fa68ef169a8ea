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
# The folders whose code runs inside the trained model: the text utilities and
# the model's own components. `xiaoan/runtime/` (the server around the model)
# is left out, so changing it never retrains.
MODEL_FOLDERS = ("text", "components")


def files_fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The Python source the model's components can run: `xiaoan/text/` and `xiaoan/components/`."""
    return files_fingerprint(p for folder in MODEL_FOLDERS for p in (PACKAGE / folder).rglob("*.py"))
