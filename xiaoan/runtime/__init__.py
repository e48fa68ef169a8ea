"""The Rasa runtime 小安 users talk to, and the one `install()` every Rasa process runs.

`make run`, `make shell`, `make interactive`, `make test-stories`,
`make test-nlu`, `make train` and the servers of the live, fault and scale
tests all start Rasa as ``python -m xiaoan.runtime <rasa arguments>``, which
calls `install()` and then Rasa's own command line. So the test stories and
the NLU figures come from the same runtime as the conversations.

What `install()` changes in Rasa, and why, is one table: `patches.PATCHES`
(a row per replaced function, overridden private method, blocked import or
copied schema, each with the shape of the internal it relies on, checked by
tests/test_patches.py so an upgrade that moves one fails by name): the
processor (ingress, busy answer, replays, paused conversations), the kept-alive
action endpoint, the reply validator built once, the health and metrics
routes, JSON logs, and ``import jax`` blocked.

It refuses to start on versions it was not written against (`versions`).
"""
from __future__ import annotations

from xiaoan.runtime.versions import check_versions

_INSTALLED = False


def install(server: bool = True) -> None:
    """Checks the versions and applies the patch table; the action server (`server=False`) gets
    the logs and its health and metrics routes only. Idempotent."""
    global _INSTALLED
    check_versions()
    from xiaoan.runtime import patches

    if server and _INSTALLED:
        return
    patches.install(server)
    _INSTALLED = _INSTALLED or server
