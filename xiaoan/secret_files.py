"""Secrets kept in files (keys, tokens): made once, atomically, readable by this user only.

Several processes start together and each may be the first to need a key (two Rasa servers and
the action server of `make scale`, say). A file opened with O_EXCL and then written can be read
while still empty by the process that lost the race, and a reader that caches what it read by the
file's time (coarse: a few milliseconds) would keep that empty key. So a key is written in full
to a private temporary file first and linked into place: a reader sees no file or the whole key.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from functools import lru_cache
from typing import Callable


def ensure_secret_file(path: Path, make: Callable[[], str]) -> Path:
    """`path`, holding `make()` (mode 0600) if it did not exist; whoever linked first wins, the rest read theirs."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, make().encode("utf-8"))
        os.close(handle)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return path


@lru_cache(maxsize=8)
def _read(path: str, _mtime_ns: int, _size: int) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def read_secret_file(path: Path) -> str:
    """The secret in `path` (stripped); one stat per call, the file read again only when it changes (its time
    or its size: a rotated key takes effect even within the file time's granularity). OSError if unreadable."""
    status = os.stat(path)
    return _read(str(path), status.st_mtime_ns, status.st_size)
