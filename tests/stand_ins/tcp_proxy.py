"""A TCP relay to PostgreSQL or Redis that a test can cut, as a network partition would.

One Rasa server of the scale-out set-up reaches PostgreSQL and Redis through
these (`ScaleStack.routes`); `cut()` closes every relayed connection and
refuses new ones, `restore()` relays again. The database itself, shared with
everything else on the machine, is never touched.
"""
from __future__ import annotations

import selectors
import socket
import threading
from typing import List, Optional, Tuple


class TcpProxy:
    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: List[Tuple[socket.socket, socket.socket]] = []
        self._open = True
        self._stopped = False
        self._thread: Optional[threading.Thread] = None

    @property
    def address(self) -> Tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> "TcpProxy":
        self._thread = threading.Thread(target=self._accept, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open:
                client.close()  # cut: the connection is refused as soon as it is made
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in selector.select(timeout=1.0):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
                if self._stopped:
                    return
        except OSError:
            return
        finally:
            selector.close()
            for end in (client, upstream):
                try:
                    end.close()
                except OSError:
                    pass
            with self._lock:
                if (client, upstream) in self._pairs:
                    self._pairs.remove((client, upstream))

    def cut(self) -> None:
        """Every relayed connection closed, new ones refused."""
        self._open = False
        with self._lock:
            pairs = list(self._pairs)
        for client, upstream in pairs:
            for end in (client, upstream):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        self._open = True

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()
