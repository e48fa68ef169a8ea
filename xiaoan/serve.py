"""``python -m xiaoan.serve <rasa arguments>``: Rasa's own command line, with 小安's processor.

The same as ``rasa <arguments>`` (``run``, ``shell``, ``interactive``), with
`xiaoan.processor`: a failing action server gets the user a "system busy"
answer instead of silence, and a message sent again with the same id is
answered from the stored replies instead of being processed twice; replies
from the action server are validated with a cached validator, and event
classes are found by name from a table (`xiaoan.fast_events`), and DIET and
TED are loaded for prediction without their training graphs
(`xiaoan.lean_model_load`: about half the memory, a faster start).
"""
from __future__ import annotations

import sys

# TensorFlow pulls in jax only for a model-conversion tool Rasa never uses;
# leaving it out saves ~100 MB per server (docs/benchmarks.md).
sys.modules.setdefault("jax", None)  # type: ignore[arg-type]

from xiaoan import fast_events, fast_validation, lean_model_load, processor  # noqa: E402


def main() -> None:
    fast_validation.apply()
    fast_events.apply()
    lean_model_load.apply()
    processor.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
