"""``python -m xiaoan.runtime <rasa arguments>``: Rasa's own command line on 小安's runtime.

The same arguments as ``rasa`` (``train``, ``run``, ``run actions``,
``shell``, ``interactive``, ``test``, ``data validate``). The Rasa server's
changes (`xiaoan.runtime.install`) are installed for everything but the
action server, which only gets the version check.

A Rasa server (``run``) whose model runs no TensorFlow gets a stand-in for it
(`xiaoan.runtime.no_tensorflow`: ~400 MB and seconds of start-up less).

The command also decides whether `XIAOAN_LOCAL_IDENTITY` counts in this process
(`xiaoan.identity.allow_local_identity`): in ``shell``, ``interactive`` and
``test`` only, never in a server that ``run`` starts, whatever its environment.
"""
from __future__ import annotations

import sys

from xiaoan.runtime import install


def main() -> None:
    args = sys.argv[1:]
    from xiaoan.identity import allow_local_identity

    allow_local_identity(args[0] if args else None)
    from xiaoan.runtime import no_tensorflow

    if no_tensorflow.wanted(args):  # a Rasa server whose model runs no TensorFlow: never import it
        no_tensorflow.install()
    install(server=args[:2] != ["run", "actions"])
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
