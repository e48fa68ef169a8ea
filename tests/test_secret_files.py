"""Keys made by whichever process starts first: never read half-written, always this user's only."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from xiaoan.identity import seal
from xiaoan.secret_files import ensure_secret_file


def test_racing_makers_all_read_one_whole_key(tmp_path):
    """Several servers starting together: each reads the same, complete key (a reader that saw the file
    created but not yet written, and cached that, counted every identity as nobody for good)."""
    path = tmp_path / "ingress_key"
    seen: list = []

    def start() -> None:
        seen.append(Path(ensure_secret_file(path, lambda: os.urandom(16).hex() * 2)).read_text())

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and len(seen[0]) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["ingress_key"]  # no temporary left behind


def test_the_seal_key_is_read_again_when_the_file_changes(tmp_path, monkeypatch):
    path = tmp_path / "key"
    monkeypatch.setenv(seal.KEY_FILE_ENV, str(path))
    path.write_text("a" * 64)
    first = seal.key()
    path.write_text("b" * 63)  # a rotated key (another size: read again even within the file time's granularity)
    os.utime(path, ns=(0, 0))
    assert first == b"a" * 64 and seal.key() == b"b" * 63
