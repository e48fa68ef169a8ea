"""The bank's side of identity, for the demo and the tests.

    python -m xiaoan.identity bind-wechat --openid <OpenID> --id <C0001|M0001>   # make bind-wechat
    python -m xiaoan.identity unbind-wechat --openid <OpenID>
    python -m xiaoan.identity token --id C0001 [--hours 8]                        # make identity-token

`bind-wechat` does what a bank's binding flow does once the customer has proved who they are
(card, ID and an SMS code in the bank's own pages): from then on that OpenID's messages are
verified as that customer. `token` signs what a bank's portal would put in `metadata.identity`
or the chat page's `customData.identity`, with `XIAOAN_IDENTITY_SECRET`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from xiaoan.identity import get_store, store_url
from xiaoan.identity.tokens import secret_env, sign


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Identity for 小安: WeChat bindings and signed tokens.")
    commands = parser.add_subparsers(dest="command", required=True)
    bind = commands.add_parser("bind-wechat", help="bind an OpenID to a customer or merchant id")
    bind.add_argument("--openid", required=True)
    bind.add_argument("--id", required=True, dest="subject")
    unbind = commands.add_parser("unbind-wechat", help="remove an OpenID's binding")
    unbind.add_argument("--openid", required=True)
    token = commands.add_parser("token", help="print a signed identity token")
    token.add_argument("--id", required=True, dest="subject")
    token.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args(argv)
    try:
        if args.command == "bind-wechat":
            get_store().bind_wechat(args.openid, args.subject)
            print(f"OpenID {args.openid} bound to {args.subject} in {store_url()}.")
        elif args.command == "unbind-wechat":
            found = get_store().unbind_wechat(args.openid)
            print(f"OpenID {args.openid} {'unbound' if found else 'was not bound'}.")
        else:  # make run's demo secret (var/identity_secret) unless the deployment has its own
            os.environ.update(secret_env(Path(os.environ.get("XIAOAN_RUN_DIR") or "var")))
            print(sign(args.subject, lifetime_s=int(args.hours * 3600)))
    except ValueError as problem:
        print(f"Not done: {problem}.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
