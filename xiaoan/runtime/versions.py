"""The versions the runtime was written against; any other refuses to start.

`xiaoan.runtime` reaches into Rasa's processor, model loading and action
validation, and `channels/socketio.py` into python-socketio and
python-engineio. Those internals change between releases without notice, so
a silent mismatch could mean a server that starts and then drops replies.
"""
from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Dict, List

EXPECTED: Dict[str, str] = {
    "rasa": "3.6.21",
    "rasa-sdk": "3.6.2",
    "python-socketio": "5.18.1",
    "python-engineio": "4.15.1",
}
PYTHON = (3, 10)


class UnsupportedVersions(SystemExit):
    """Raised with a message that names every mismatch (Python prints it and exits with status 1)."""


def mismatches() -> List[str]:
    found: List[str] = []
    if sys.version_info[:2] != PYTHON:
        found.append(f"Python {sys.version_info[0]}.{sys.version_info[1]} (needs {PYTHON[0]}.{PYTHON[1]})")
    for package, wanted in EXPECTED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != wanted:
            found.append(f"{package} {installed} (needs {wanted})")
    return found


def check_versions() -> None:
    problems = mismatches()
    if problems:
        raise UnsupportedVersions(
            "xiaoan.runtime refuses to start: it was written against other versions: "
            + "; ".join(problems)
            + ". Install requirements.txt (make install) or review xiaoan/runtime for the new versions."
        )
