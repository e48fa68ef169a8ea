"""``make staff-user NAME=<name> ROLE=<agent|supervisor>``: create a staff account (or set a new password).

The password comes from ``STAFF_PASSWORD``, or is asked for twice on a
terminal; there is no default, and without either the account is not made.
It must pass the policy of xiaoan/handover/passwords.py (12 or more characters, not a
common password from common_passwords.txt nor one with digits or symbols added, not a run
of keys, not the user name); a refused one is not stored and the reason is printed.
It is stored as an scrypt hash in the shared hand-over store
(``XIAOAN_HANDOVER_URL``, else the back office's database). Setting a new
password for an existing name keeps its 工号 and ends its sessions.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import List, Optional

from xiaoan.handover.staff import ROLES
from xiaoan.handover.store import get_store, store_url


def read_password() -> Optional[str]:
    given = os.environ.get("STAFF_PASSWORD")
    if given:
        return given
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Password for the new staff account: ")
    if getpass.getpass("Again: ") != first:
        print("The two passwords differ.", file=sys.stderr)
        return None
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Create a staff account for the console.")
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", required=True, choices=ROLES)
    args = parser.parse_args(argv)
    password = read_password()
    if not password:
        print("No password: set STAFF_PASSWORD or run it on a terminal.", file=sys.stderr)
        return 2
    try:
        member = get_store().create_staff(args.name, args.role, password)
    except ValueError as problem:
        print(f"Not created: {problem}.", file=sys.stderr)
        return 2
    print(f"Staff account {member.username!r} ({member.role}), staff number {member.staff_no}, in {store_url()}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
