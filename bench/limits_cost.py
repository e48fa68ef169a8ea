"""What the limits (xiaoan/runtime/limits.py) cost per message: the gate on an honest message, in this
process's memory and, when Redis answers on 127.0.0.1:6379, in Redis (one pipeline round trip).

    .venv/bin/python bench/limits_cost.py [--messages 20000]

Compared with the ingress's own reading of the same text (`xiaoan.runtime.ingress.admit`: OpenCC,
masking, fraud signals), which every message pays already.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402

import logging  # noqa: E402

import xiaoan.runtime.limits as limits  # noqa: E402
from xiaoan.runtime.ingress import admit  # noqa: E402

TEXT = "POS机刷卡转账失败了，显示扣款成功但是对方没收到，终端号10000002，怎么办？"
METADATA = {"identity": "x" * 600, "message_id": "m-1"}


def message(i: int) -> UserMessage:
    msg = UserMessage(TEXT, CollectingOutputChannel(), f"bench-{i % 5000}", input_channel="rest", metadata=METADATA)
    limits.note_address(msg, f"198.51.{(i // 256) % 256}.{i % 256}")
    return msg


async def per_message_us(n: int) -> float:
    messages = [message(i) for i in range(n)]
    started = time.perf_counter()
    for msg in messages:
        await limits.gate(msg)
    return (time.perf_counter() - started) / n * 1e6


def admit_us(n: int) -> float:
    messages = [message(i) for i in range(n)]
    started = time.perf_counter()
    for msg in messages:
        admit(msg)
    return (time.perf_counter() - started) / n * 1e6


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    n = parser.parse_args().messages
    os.environ["XIAOAN_RATE_PER_SENDER"] = os.environ["XIAOAN_RATE_PER_ADDRESS"] = "1000000"
    os.environ.pop(limits.REDIS_ENV, None)
    limits.reset()
    asyncio.run(per_message_us(1000))  # warm up
    print(f"gate, in memory: {asyncio.run(per_message_us(n)):.1f} µs per message ({n} messages)")
    if redis_up():
        os.environ[limits.REDIS_ENV] = "redis://127.0.0.1:6379/14"
        limits.reset()

        async def redis_run() -> float:
            await per_message_us(200)
            return await per_message_us(max(n // 10, 1000))

        print(f"gate, in Redis: {asyncio.run(redis_run()):.1f} µs per message (one round trip, loopback)")
    admit_us(200)
    print(f"for scale, the ingress's admit() of the same message: {admit_us(max(n // 10, 1000)):.1f} µs")


if __name__ == "__main__":
    main()
