"""``python -m xiaoan.serve <rasa arguments>``: Rasa's own command line, with 小安's processor.

The same as ``rasa <arguments>`` (``run``, ``shell``, ``interactive``), with
`xiaoan.processor`: a failing action server gets the user a "system busy"
answer instead of silence, and a message sent again with the same id is
answered from the stored replies instead of being processed twice.
"""
from __future__ import annotations

from xiaoan import processor


def main() -> None:
    processor.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
