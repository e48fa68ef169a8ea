"""The action server's readiness checks, registered with the runtime's ``/health/ready``.

xiaoan/runtime/health.py serves the route but never imports the actions (the runtime is a lower
layer): the action server says what it depends on here. rasa-sdk imports the `actions` package
before its plugin hook builds the app (`rasa_sdk.endpoint.run`: `create_app`, then
`attach_sanic_app_extensions`), and actions/__init__.py calls `register()`, so the checks are in
place when ``/health/ready`` is built.
"""
from __future__ import annotations

from typing import Optional

from actions.backoffice import get_backoffice
from xiaoan.runtime.health import in_thread, register_action_server_check


async def back_office() -> Optional[str]:
    """The back office answers: a lookup of a ticket that cannot exist comes back, empty."""
    store = get_backoffice()
    store = getattr(store, "uninstrumented", store)  # the check is not a user's back-office call
    await in_thread(lambda: store.find_ticket("readiness-check"))
    return None


def register() -> None:
    register_action_server_check("back_office", back_office)
