"""The action endpoint keeps its connections: many action calls, one TCP connection, same headers as Rasa's."""
from __future__ import annotations

import asyncio

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from xiaoan.runtime.action_session import KeepAliveEndpoint


def test_calls_share_one_connection_and_carry_the_endpoints_headers():
    peers, keys = set(), []

    async def webhook(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername"))
        keys.append(request.headers.get("X-Key"))
        return web.json_response({"events": [], "responses": [], "echo": (await request.json())["n"]})

    async def run() -> list:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = KeepAliveEndpoint.of(EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Key": "k"}))
        try:
            return [(await endpoint.request(json={"n": n}, method="post"))["echo"] for n in range(5)]
        finally:
            async with endpoint.session() as session:  # the shared one: closed here, at the end of the test
                await session.close()
            await runner.cleanup()

    assert asyncio.run(run()) == [0, 1, 2, 3, 4]
    assert len(peers) == 1 and keys == ["k"] * 5


def test_an_endpoint_is_copied_whole_and_none_stays_none():
    original = EndpointConfig("http://a/webhook", params={"p": 1}, headers={"h": "v"}, token="t", cafile=None,
                              enable_selective_domain=True)
    kept = KeepAliveEndpoint.of(original)
    assert (kept.url, kept.params, kept.headers, kept.token, kept.kwargs) == \
        ("http://a/webhook", {"p": 1}, {"h": "v"}, "t", {"enable_selective_domain": True})
    assert KeepAliveEndpoint.of(kept) is kept and KeepAliveEndpoint.of(None) is None
    assert isinstance(kept.copy(), KeepAliveEndpoint)
