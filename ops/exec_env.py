"""``python -m ops.exec_env FILE -- ARGV…``: replaces itself with ARGV, the variables of FILE added.

Supervisor's ``environment=`` setting cannot carry a value with a quote in
it (a password, a WeChat secret), so each supervised program's own variables
are in a JSON file readable by its owner only (`ops/supervisor_config.py` writes it),
and this tiny step puts them in place. ``exec`` keeps the process id, so the
supervisor's signals reach the server itself.
"""
from __future__ import annotations

import json
import os
import sys


def main(argv: list) -> None:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: python -m ops.exec_env FILE -- COMMAND [ARGS...]")
    with open(argv[0], encoding="utf-8") as handle:
        extra = json.load(handle)
    command = argv[2:]
    os.execvpe(command[0], command, {**os.environ, **{str(k): str(v) for k, v in extra.items()}})


if __name__ == "__main__":
    main(sys.argv[1:])
