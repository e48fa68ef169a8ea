"""Load test for a RUNNING 小安: concurrent Chinese conversations over REST, then
every tracker read back and checked.

Starts nothing. The Rasa server must already run with ``--enable-api`` (the
tracker read-back uses ``GET /conversations/<id>/tracker``) at RASA_URL
(default http://127.0.0.1:5005), with its action server. Only a loopback
address is accepted as the target.

    .venv/bin/python bench/load_test.py                       # 50 conversations x 10 turns
    .venv/bin/python bench/load_test.py --conversations 5 --turns 4
    .venv/bin/python bench/load_test.py --json-out results/load_test.json

Each conversation is one of several realistic scripts (varied per conversation,
rotated so that neighbours do not start alike) under a sender id unique to the
run. A conversation passes when every request got HTTP 200 with a JSON list,
and its stored tracker holds each user message exactly once, in order, each
followed by at least one bot reply before the next user message, and the
bot's stored replies to each message are exactly the texts its sender got.

Prints p50/p95/p99 latency (ms), messages per second, errors, and as its last
line ``N passed, M failed`` (conversations). Exit code 0 only when nothing
failed. If RASA_AUTH_TOKEN is set it is sent as ``?token=`` on the API call.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlsplit

import aiohttp

DEFAULT_URL = "http://127.0.0.1:5005"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
MAX_CONVERSATIONS = 500  # bounded: this is a load test, not a flood
MAX_TURNS = 50

# Realistic conversations: scenario, identifier, follow-up questions, closing.
# Identifiers are the simulated back office's records (actions/backoffice/fixtures.yml).
SCRIPTS: List[List[str]] = [
    ["你好", "POS机一直提示通讯失败", "10000002", "不用了", "怎么预防转账失败",
     "一般多久到账", "卡被冻结了转不了", "5678", "好的", "谢谢"],
    ["您好", "刷卡没成功", "提示余额不足", "9012", "那怎么办", "一般多久到账",
     "怎么联系银行", "好的", "没有了", "谢谢"],
    ["钱扣了但是显示交易失败", "参考号202611250002", "钱多久能退回来", "能不能再刷一次",
     "好的", "对方说没收到钱", "202611250001", "怎么核对收款人", "没有别的问题了", "再见"],
    ["转账一直显示处理中", "202611250005", "对方银行在维护吗", "要等多久", "错误码51",
     "1234", "好的", "还有其他转账方式吗", "不用了", "谢谢你"],
    ["POS鸡读不了卡", "终端号10000005", "换张卡试试可以吗", "今天转账超限额了", "3456",
     "那明天再转可以吗", "好的", "怎么预防炸骗", "没了", "谢谢"],
    ["在吗", "有人打电话说我的卡涉嫌洗钱，让我把钱转到安全账户", "他说是公安局的",
     "那我该怎么办", "好的", "POS机提示A0", "10000003", "签到怎么弄", "好的谢谢", "再见"],
    ["我的卡过期了刷不了", "7890", "要去哪里换卡", "建设银行电话多少", "好的",
     "转账被退回了", "202611250004", "怎么核对收款人信息", "明白了", "谢谢"],
    ["刷卡的时候POS机死机了", "10000004", "小票打不出来怎么办", "钱扣了吗", "202611250007",
     "扣了两次钱", "转人工", "好的", "没有了", "谢谢"],
]
# Appended (in turn) when --turns asks for more than a script holds.
EXTRA_TURNS = ["好的", "还有别的办法吗", "一般多久到账", "怎么联系银行", "谢谢"]


def script_for(index: int, turns: int) -> List[str]:
    """Conversation ``index``'s messages: its script, cut or extended to ``turns``."""
    script = list(SCRIPTS[index % len(SCRIPTS)])
    extra = 0
    while len(script) < turns:
        script.append(EXTRA_TURNS[extra % len(EXTRA_TURNS)])
        extra += 1
    return script[:turns]


@dataclass
class Conversation:
    sender: str
    messages: List[str]
    latencies_ms: List[float] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    sent: int = 0
    problems: List[str] = field(default_factory=list)
    replies: List[List[str]] = field(default_factory=list)  # the texts the sender got, per turn

    @property
    def passed(self) -> bool:
        return not self.errors and not self.problems and self.sent == len(self.messages)


def percentile(values: List[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def check_target(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise SystemExit(f"load_test: refusing target {url!r}: only http://127.0.0.1 is allowed")
    return url.rstrip("/")


async def talk(
    session: aiohttp.ClientSession, base: str, conversation: Conversation, timeout: float
) -> None:
    """Sends the script turn by turn, each after the previous answer."""
    url = f"{base}/webhooks/rest/webhook"
    for number, message in enumerate(conversation.messages, 1):
        started = time.perf_counter()
        try:
            async with session.post(
                url,
                # the id makes a retry (by nginx, after a server died) safe: xiaoan.runtime.replay
                json={"sender": conversation.sender, "message": message,
                      "message_id": f"{conversation.sender}-{number}"},
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                body = await response.text()
                elapsed = (time.perf_counter() - started) * 1000.0
                conversation.sent += 1
                if response.status != 200:
                    conversation.errors.append(f"turn {number}: HTTP {response.status}: {body[:200]}")
                    continue
                try:
                    replies = json.loads(body)
                except ValueError:
                    conversation.errors.append(f"turn {number}: not JSON: {body[:200]}")
                    continue
                if not isinstance(replies, list):
                    conversation.errors.append(f"turn {number}: not a list of replies: {body[:200]}")
                    continue
                conversation.replies.append([str(m.get("text") or "") for m in replies if isinstance(m, dict)])
                conversation.latencies_ms.append(elapsed)
        except asyncio.TimeoutError:
            conversation.errors.append(f"turn {number}: no answer within {timeout:.0f} s")
            return
        except aiohttp.ClientError as error:
            conversation.errors.append(f"turn {number}: {type(error).__name__}: {error}")
            return


def verify_events(conversation: Conversation, events: List[Dict[str, Any]]) -> List[str]:
    """What is wrong with the stored conversation (empty: nothing)."""
    problems: List[str] = []
    user_positions = [i for i, e in enumerate(events) if e.get("event") == "user"]
    stored = [events[i].get("text") for i in user_positions]
    expected = conversation.messages[: conversation.sent]
    if stored != expected:
        missing = sorted({m for m in expected if stored.count(m) < expected.count(m)})
        extra = sorted({str(m) for m in stored if expected.count(m) < stored.count(m)})
        detail = f"missing {missing}" if missing else ""
        detail += f"{'; ' if detail else ''}extra {extra}" if extra else ""
        problems.append(
            f"user messages stored {len(stored)}, sent {len(expected)}"
            + (f" ({detail})" if detail else " (out of order)")
        )
    bounds = user_positions + [len(events)]
    for n, start in enumerate(user_positions):
        # One stored reply is as many messages as it has paragraphs: Rasa's output channels send each part
        # between blank lines ("\n\n") as a message of its own (an answer, then its steps).
        bot = [part for e in events[start + 1 : bounds[n + 1]] if e.get("event") == "bot"
               for part in (str(e.get("text") or "").strip().split("\n\n") if e.get("text") else [""])]
        if not bot:
            problems.append(f"no bot reply after user message {n + 1} ({events[start].get('text')!r})")
        elif n < len(conversation.replies) and not problems and bot != conversation.replies[n]:
            problems.append(f"stored replies to message {n + 1} differ from what its sender got")
    return problems


async def read_back(
    session: aiohttp.ClientSession,
    base: str,
    conversation: Conversation,
    limit: asyncio.Semaphore,
    timeout: float,
) -> None:
    url = f"{base}/conversations/{quote(conversation.sender, safe='')}/tracker"
    params = {"include_events": "ALL"}
    token = os.environ.get("RASA_AUTH_TOKEN")
    if token:
        params["token"] = token
    async with limit:
        try:
            async with session.get(
                url, params=params, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                body = await response.text()
                if response.status != 200:
                    conversation.errors.append(f"tracker: HTTP {response.status}: {body[:200]}")
                    return
                tracker = json.loads(body)
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as error:
            conversation.errors.append(f"tracker: {type(error).__name__}: {error}")
            return
    conversation.problems.extend(verify_events(conversation, tracker.get("events") or []))


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    base = check_target(args.url)
    run_id = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    conversations = [
        Conversation(f"load-{run_id}-{i:03d}", script_for(i, args.turns))
        for i in range(args.conversations)
    ]
    connector = aiohttp.TCPConnector(limit=args.conversations + 4)
    timed_out = False
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + args.timeout
        talking = [asyncio.ensure_future(talk(session, base, c, args.request_timeout)) for c in conversations]
        done, pending = await asyncio.wait(talking, timeout=args.timeout)
        wall = time.perf_counter() - started
        for task in pending:
            task.cancel()
        if pending:
            timed_out = True
            await asyncio.gather(*pending, return_exceptions=True)
            for c in conversations:
                if c.sent < len(c.messages) and not c.errors:
                    c.errors.append(f"overall timeout ({args.timeout:.0f} s) after {c.sent} turns")
        remaining = max(5.0, deadline - time.perf_counter())
        limit = asyncio.Semaphore(8)
        reading = [
            asyncio.ensure_future(read_back(session, base, c, limit, args.request_timeout))
            for c in conversations
        ]
        done, pending = await asyncio.wait(reading, timeout=remaining)
        for task in pending:
            task.cancel()
        if pending:
            timed_out = True
            await asyncio.gather(*pending, return_exceptions=True)
        for c, task in zip(conversations, reading):
            if task in pending:
                c.errors.append("tracker: overall timeout")

    latencies = [ms for c in conversations for ms in c.latencies_ms]
    messages = sum(c.sent for c in conversations)
    errors = sum(len(c.errors) for c in conversations)
    passed = sum(1 for c in conversations if c.passed)
    return {
        "url": base,
        "run_id": run_id,
        "conversations": args.conversations,
        "turns": args.turns,
        "messages": messages,  # requests that got an HTTP answer
        "answered_ok": len(latencies),
        "wall_seconds": round(wall, 3),
        "messages_per_second": round(messages / wall, 2) if wall > 0 else None,
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p95": _round(percentile(latencies, 95)),
            "p99": _round(percentile(latencies, 99)),
            "max": _round(max(latencies) if latencies else None),
            "mean": _round(sum(latencies) / len(latencies) if latencies else None),
        },
        "errors": errors,
        "timed_out": timed_out,
        "passed": passed,
        "failed": len(conversations) - passed,
        "failures": {
            c.sender: c.errors + c.problems for c in conversations if not c.passed
        },
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def report(figures: Dict[str, Any]) -> None:
    lat = figures["latency_ms"]

    def ms(value: Optional[float]) -> str:
        return "n/a" if value is None else f"{value:.0f}"

    print(f"target            {figures['url']}  (run {figures['run_id']})")
    print(f"conversations     {figures['conversations']} x {figures['turns']} turns, concurrent")
    print(f"messages answered {figures['messages']} in {figures['wall_seconds']:.1f} s"
          f"  -> {figures['messages_per_second']} msg/s")
    print(f"latency (ms)      p50 {ms(lat['p50'])}  p95 {ms(lat['p95'])}  p99 {ms(lat['p99'])}"
          f"  max {ms(lat['max'])}  mean {ms(lat['mean'])}")
    print(f"errors            {figures['errors']}" + ("  (overall timeout hit)" if figures["timed_out"] else ""))
    shown = 0
    for sender, failures in figures["failures"].items():
        for failure in failures[:3]:
            if shown < 20:
                print(f"  FAIL {sender}: {failure}")
            shown += 1
    if shown > 20:
        print(f"  ... and {shown - 20} more")
    print(f"{figures['passed']} passed, {figures['failed']} failed")


def bounded(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=bounded(1, MAX_CONVERSATIONS), default=50,
                        help="concurrent conversations (default 50)")
    parser.add_argument("--turns", type=bounded(1, MAX_TURNS), default=10,
                        help="turns per conversation (default 10)")
    parser.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="overall time limit in seconds, both phases (default 900)")
    parser.add_argument("--request-timeout", type=float, default=120.0,
                        help="per-request time limit in seconds (default 120)")
    parser.add_argument("--url", default=os.environ.get("RASA_URL") or DEFAULT_URL,
                        help="Rasa base URL (default $RASA_URL or %(default)s); loopback only")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    if args.json_out:
        directory = os.path.dirname(args.json_out)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(figures, out, ensure_ascii=False, indent=2)
    report(figures)
    return 0 if figures["failed"] == 0 and figures["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
