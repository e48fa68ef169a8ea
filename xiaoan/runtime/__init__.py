"""The Rasa runtime 小安 users talk to, and the one `install()` every Rasa process runs.

`make run`, `make shell`, `make interactive`, `make test-stories`,
`make test-nlu`, `make train` and the servers of the live, fault and scale
tests all start Rasa as ``python -m xiaoan.runtime <rasa arguments>``, which
calls `install()` and then Rasa's own command line. So the test stories and
the NLU figures come from the same runtime as the conversations.

What `install()` changes in Rasa, and why (each is checked by a test that
fails if a Rasa upgrade moves the thing it touches):

* the processor the `Agent` builds (`processor.XiaoanProcessor`): the
  ingress, the "system busy" answer and safe retries;
  tests/test_runtime.py, tests/test_busy.py, tests/test_replay.py;
* `RasaModel.load` (`lean_model_load`): DIET and TED loaded without their
  training graphs, ~500 MB less per server; tests/test_lean_model_load.py;
* `RemoteAction._validate_action_result` (`action_replies`): the reply schema
  checked once instead of on every action call; tests/test_action_replies.py;
* ``import jax`` made to fail in the Rasa server (TensorFlow imports it only
  for a converter Rasa never uses): ~100 MB less per server;
* `rasa.core.run.configure_app` (`operations`): the Rasa server's app gets
  ``/health/live``, ``/health/ready`` and ``/metrics``; the action server gets
  them through rasa-sdk's own plugin hook; tests/test_operations.py;
* ``configure_colored_logging`` of Rasa and rasa-sdk (`logs`): JSON lines
  instead when ``XIAOAN_LOG_FORMAT=json`` (every process ops/ starts);
  tests/test_logs.py.

It refuses to start on versions it was not written against (`versions`).
"""
from __future__ import annotations

import sys

from xiaoan.runtime.versions import check_versions

_INSTALLED = False


def install(server: bool = True) -> None:
    """Checks the versions and installs the changes above; the action server (`server=False`)
    gets the logs and its health and metrics routes only. Idempotent."""
    global _INSTALLED
    check_versions()
    from xiaoan.runtime import logs, operations

    logs.install()
    if not server:
        operations.install_action_server()
        return
    if _INSTALLED:
        return
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    import rasa.core.agent

    from xiaoan.runtime import action_replies, lean_model_load
    from xiaoan.runtime.processor import XiaoanProcessor

    action_replies.install()
    lean_model_load.install()
    operations.install_rasa_server()
    rasa.core.agent.MessageProcessor = XiaoanProcessor  # type: ignore[misc]
    _INSTALLED = True
