"""Following a log file as it grows, the way `tail -F` does, for the terminal display."""
from __future__ import annotations

from pathlib import Path
from typing import List


class LogTail:
    """New lines of a file since the last read (a rotated or truncated file is read from its start)."""

    def __init__(self, path: Path, from_end: bool = True) -> None:
        self.path = path
        self.offset = path.stat().st_size if from_end and path.exists() else 0
        self._partial = ""

    def lines(self) -> List[str]:
        """The complete lines written since the last call (a line still being written waits for its end)."""
        if not self.path.exists():
            return []
        size = self.path.stat().st_size
        if size < self.offset:
            self.offset = 0
        if size == self.offset:
            return []
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            handle.seek(self.offset)
            text = handle.read()
            self.offset = handle.tell()
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        return lines
