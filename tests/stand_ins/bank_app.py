"""A bank's app as a REST client of 小安: while its user waits for a person, it waits on the pull door
(`POST /webhooks/rest/replies`, channels/rest_pull.py) in a loop, with the user's identity token, and
shows whatever arrives. Live tests start it and read what it received, and when."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple


def pull(base_url: str, sender: str, token: Optional[str], wait_s: float) -> Tuple[int, Any]:
    """One long poll: (status, answer)."""
    body = json.dumps({"sender": sender, "metadata": {"identity": token}, "wait_s": wait_s}).encode()
    request = urllib.request.Request(f"{base_url}/webhooks/rest/replies", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=wait_s + 30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class BankApp:
    """``with BankApp(url, sender, token) as app``: waits in the background; `received` holds
    (monotonic time, message) for every message shown, `refusals` any status other than 200."""

    def __init__(self, base_url: str, sender: str, token: str, wait_s: float = 20.0) -> None:
        self.base_url, self.sender, self.token, self.wait_s = base_url, sender, token, wait_s
        self.received: List[Tuple[float, Dict[str, Any]]] = []
        self.refusals: List[int] = []
        self._stop = threading.Event()
        self._waiting = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "BankApp":
        self._thread.start()
        self._waiting.wait(10)
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(self.wait_s + 35)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._waiting.set()
            status, answer = pull(self.base_url, self.sender, self.token, self.wait_s)
            if status != 200:
                self.refusals.append(status)
                time.sleep(1.0)
                continue
            self.received.extend((time.monotonic(), message) for message in answer)

    def texts(self) -> List[str]:
        return [message.get("text") or "" for _, message in self.received]

    def wait_for(self, count: int, timeout: float) -> List[str]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.texts()
