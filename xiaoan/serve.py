"""``python -m xiaoan.serve <rasa arguments>``: Rasa's own command line, with 小安's processor.

The same as ``rasa <arguments>`` (``run``, ``shell``, ``interactive``), except
that a failing action server gets the user a "system busy" answer instead of
silence (see `xiaoan.busy`).
"""
from __future__ import annotations

from xiaoan import busy


def main() -> None:
    busy.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
