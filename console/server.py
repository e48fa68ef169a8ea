"""The staff console: one page (console/static/) and the JSON API under /api/ (contract §7), on CONSOLE_PORT (8090).

    CONSOLE_PORT=8090 RASA_URL=http://127.0.0.1:5005 python -m console

Security: every /api/ call but sign-in needs a session cookie (401 without),
every POST but sign-in the header ``X-CSRF-Token`` with the session's token
(403 otherwise), and review and dashboard the supervisor role (403 for an
agent). Sign-in takes JSON only (``Content-Type: application/json``, else 415,
so a cross-site form cannot post a text/plain body that parses as JSON) and
checks an scrypt hash (xiaoan/handover/passwords.py); 5 failures within 15
minutes lock the name for 15 minutes (429 ``locked``, whatever the password),
and 20 failures from one address, whatever the names, refuse that address for
15 minutes (429 ``throttled``); every attempt is counted in the shared store
before its password is checked (xiaoan/handover/staff.py). The address is the
TCP peer; ``X-Forwarded-For`` is read only when the peer is a proxy named in
``CONSOLE_TRUSTED_PROXY`` (comma-separated addresses, e.g. ``127.0.0.1`` for an
nginx on the same machine), and then the client is the rightmost address in it
that is not one of those proxies. The session cookie is Secure unless the
console listens on loopback (``CONSOLE_HOST`` 127.0.0.1, localhost or ::1, the
default); ``CONSOLE_SECURE_COOKIE=1`` makes it Secure there too, ``=0`` drops it
elsewhere (plain HTTP on a trusted network; a warning is logged). Sessions end
after 8 hours, or 30 idle minutes. Nothing of a conversation is in the page itself: it comes
through the API, after sign-in. The page, its script and its styles are the
only files served; answers carry a strict Content-Security-Policy.

State lives in the shared stores, never here: the hand-over tables
(xiaoan/handover) and the tracker store (read-only, console/transcripts.py).
What changes a conversation goes through a Rasa server (channels/staff.py);
a message that could not reach one is reported ``not_delivered`` and sent
again in the background until a server answers (console/delivery.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

from console.delivery import Delivery, RasaLink, rasa_token
from console.waiting import WaitingRule
from console.transcripts import SCENARIOS, Transcripts, dashboard, nlu_yaml, stories_yaml, tracker_store_url
from xiaoan import clock
from xiaoan.addresses import addresses_named, client_address
from xiaoan.handover import passwords
from xiaoan.handover.queue import URGENT_REASONS, Handover, staff_order
from xiaoan.handover.sessions import SESSION_ABSOLUTE_S, Session
from xiaoan.handover.staff import ADDRESS_LOCK_S, LOCK_S
from xiaoan.handover.store import HandoverStore, get_store
from xiaoan.names import BACKOFFICE_URL_ENV, DEFAULT_BACKOFFICE_URL
from xiaoan.ticket_table import reader_for

logger = logging.getLogger("console")

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "xiaoan_staff"
CSRF_HEADER = "X-CSRF-Token"
MAX_TEXT = 2000
PAGES = {"/": "index.html", "/static/console.js": "console.js", "/static/console.css": "console.css"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
SUPERVISOR = "supervisor"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
TRUSTED_PROXY_ENV = "CONSOLE_TRUSTED_PROXY"
SECURE_COOKIE_ENV = "CONSOLE_SECURE_COOKIE"
HIDDEN_SLOTS = {"session_started_metadata"}  # Rasa's own bookkeeping, not the case

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, error: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, **extra}, status=status)


def listen_host() -> str:
    return os.environ.get("CONSOLE_HOST") or "127.0.0.1"


def cookie_is_secure(host: Optional[str] = None) -> bool:
    """Secure unless the console listens on loopback; CONSOLE_SECURE_COOKIE=1 forces it, =0 drops it."""
    forced = (os.environ.get(SECURE_COOKIE_ENV) or "").strip()
    if forced in ("1", "0"):
        return forced == "1"
    return (host or listen_host()).strip().strip("[]").lower() not in LOOPBACK_HOSTS


def trusted_proxies() -> "frozenset[str]":
    """CONSOLE_TRUSTED_PROXY: the proxies whose X-Forwarded-For is believed (none unless configured)."""
    return addresses_named(TRUSTED_PROXY_ENV)


def in_thread(function: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    return asyncio.to_thread(function, *args)


def day_range(request: web.Request) -> "tuple[float, float, Dict[str, str]]":
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, China dates, both days included; the last 7 China days by default.

    The range comes back with the dates it covers, so the page shows the server's
    China dates and never works a date out from the browser's own clock and zone.
    """
    default_first, default_last = clock.last_days(7)

    def parse(name: str, default: date) -> date:
        raw = request.query.get(name)
        if not raw:
            return default
        try:
            return clock.parse_day(raw)
        except ValueError:
            raise web.HTTPBadRequest(text=json.dumps({"error": f"{name}: YYYY-MM-DD"}), content_type="application/json")

    first, last = parse("from", default_first), parse("to", default_last)
    if last < first:
        raise web.HTTPBadRequest(text=json.dumps({"error": "to before from"}), content_type="application/json")
    start, end = clock.days_span(first, last)
    return start, end, {"from": first.isoformat(), "to": last.isoformat(), "today": clock.today().isoformat()}


class Console:
    def __init__(self, store: HandoverStore, transcripts: Transcripts, rasa: RasaLink) -> None:
        self.store = store
        self.transcripts = transcripts
        self.rasa = rasa
        self.delivery = Delivery(store, rasa)
        self.waiting_rule = WaitingRule(store, self.delivery)
        self.secure_cookie = cookie_is_secure()
        self.proxies = trusted_proxies()
        if not self.secure_cookie and listen_host().strip("[]").lower() not in LOOPBACK_HOSTS:
            logger.warning("the session cookie is not Secure on %s (%s=0): use it over HTTPS only",
                           listen_host(), SECURE_COOKIE_ENV)

    # ------------------------------------------------------------------ the app

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.headers, self.guard], client_max_size=64 * 1024)
        app["console"] = self
        routes = [
            web.get("/health/live", self.live),
            web.post("/api/login", self.login),
            web.post("/api/logout", self.logout),
            web.get("/api/me", self.me),
            web.get("/api/queue", self.queue),
            web.get("/api/mine", self.mine),
            web.post("/api/conversations/{id}/claim", self.claim),
            web.get("/api/conversations/{id}", self.conversation),
            web.post("/api/conversations/{id}/messages", self.send),
            web.post("/api/conversations/{id}/messages/{message_id}/retry", self.retry),
            web.post("/api/conversations/{id}/slots", self.set_slots),
            web.post("/api/conversations/{id}/handback", self.handback),
            web.post("/api/conversations/{id}/close", self.close),
            web.get("/api/review", self.review),
            web.post("/api/review/{id}/labels", self.label),
            web.get("/api/export/nlu", self.export_nlu),
            web.get("/api/export/story/{id}", self.export_story),
            web.get("/api/dashboard", self.dashboard),
        ]
        routes += [web.get(path, self.page) for path in PAGES]
        app.add_routes(routes)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self.delivery.start()
        self.waiting_rule.start()
        await in_thread(passwords.dummy_hash)  # made now, so the first unknown name takes no longer than others

    async def _stop(self, _: web.Application) -> None:
        await self.waiting_rule.stop()
        await self.delivery.stop()

    @web.middleware
    async def headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            answer = await handler(request)
        except web.HTTPException as problem:
            answer = problem
        for name, value in SECURITY_HEADERS.items():
            answer.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            answer.headers["Cache-Control"] = "no-store"
        if isinstance(answer, web.HTTPException):
            raise answer
        return answer

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Session (401), CSRF on POST (403) and role (403) for everything under /api/ but sign-in."""
        if not request.path.startswith("/api/") or request.path == "/api/login":
            return await handler(request)
        session = await in_thread(self.store.session, request.cookies.get(COOKIE))
        if session is None:
            return json_error(401, "unauthenticated")
        if request.method not in ("GET", "HEAD") and not _same(request.headers.get(CSRF_HEADER), session.csrf):
            return json_error(403, "csrf")
        supervisor_only = request.path.startswith(("/api/review", "/api/export", "/api/dashboard"))
        if supervisor_only and session.staff.role != SUPERVISOR:
            return json_error(403, "role")
        request["session"] = session
        return await handler(request)

    async def page(self, request: web.Request) -> web.Response:
        path = STATIC / PAGES[request.path]
        return web.Response(body=path.read_bytes(), headers={"Content-Type": CONTENT_TYPES[path.suffix],
                                                              "Cache-Control": "no-cache"})

    async def live(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    # ------------------------------------------------------------------ sign-in

    async def login(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            # A cross-site <form> can post text/plain (or a form encoding) without a CORS preflight;
            # only JSON, which a page of another origin cannot send here, is taken.
            return json_error(415, "json only")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return json_error(400, "json")
        if not isinstance(body, dict) or not isinstance(body.get("username"), str) \
                or not isinstance(body.get("password"), str):
            return json_error(400, "username and password")
        address = client_address(request.remote, request.headers.get("X-Forwarded-For"), self.proxies)
        outcome, member = await in_thread(self.store.sign_in, body["username"], body["password"], address)
        if outcome in ("locked", "throttled"):
            wait = LOCK_S if outcome == "locked" else ADDRESS_LOCK_S
            if outcome == "throttled":
                logger.warning("sign-in throttled for %s", address)
            return web.json_response({"error": outcome, "retry_after_s": wait}, status=429,
                                     headers={"Retry-After": str(wait)})
        if member is None:
            return json_error(401, "wrong")
        token, csrf = await in_thread(self.store.open_session, member)
        answer = web.json_response({"csrf": csrf, "username": member.username, "staff_id": member.staff_no,
                                    "role": member.role})
        answer.set_cookie(COOKIE, token, max_age=SESSION_ABSOLUTE_S, httponly=True, samesite="Strict", path="/",
                          secure=self.secure_cookie)
        logger.info("staff %s signed in", member.staff_no)
        return answer

    async def logout(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        await in_thread(self.store.end_session, session.token_hash)
        answer = web.json_response({"ok": True})
        answer.del_cookie(COOKIE, path="/")
        return answer

    async def me(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        return web.json_response({"username": session.staff.username, "staff_id": session.staff.staff_no,
                                  "role": session.staff.role, "csrf": session.csrf})

    # ------------------------------------------------------------------ the queue

    @staticmethod
    def _queue_item(handover: Handover, now: float, numbers: Dict[int, str]) -> Dict[str, Any]:
        """An entry as the page shows it: every time in it is the server's, on the China clock (the wait so
        far in seconds, when the user was told about the wait), so the page reads no browser clock."""
        return {"conversation_id": handover.conversation_id, "channel": handover.channel, "reason": handover.reason,
                "waiting_s": round(now - handover.queued_at, 1), "ticket": handover.ticket_id,
                "scenario": handover.scenario, "status": handover.status,
                "claimed_by": numbers.get(handover.claimed_by) if handover.claimed_by else None,
                "urgent": handover.reason in URGENT_REASONS, "told": handover.told,
                "told_at": clock.for_people(handover.told_at) if handover.told and handover.told_at else None,
                "queued_at": clock.for_people(handover.queued_at)}

    async def queue(self, _: web.Request) -> web.Response:
        """The waiting conversations, oldest first (contract §7); `rank` is the order staff take them in
        (scam reports first, then by age: xiaoan.handover.queue.staff_order), which the page shows."""
        waiting, numbers = await in_thread(self.store.waiting), await in_thread(self.store.staff_numbers)
        now = clock.timestamp()
        ranks = {h.id: rank for rank, h in enumerate(staff_order(waiting), start=1)}
        return web.json_response([{**self._queue_item(h, now, numbers), "rank": ranks[h.id]} for h in waiting])

    async def mine(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        held, numbers = await in_thread(self.store.held_by, session.staff.id), await in_thread(self.store.staff_numbers)
        now = clock.timestamp()
        return web.json_response([self._queue_item(h, now, numbers) for h in held])

    async def claim(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        conversation_id = request.match_info["id"]
        outcome, handover = await in_thread(self.store.claim, conversation_id, session.staff.id)
        if outcome == "not_queued":
            return json_error(404, "not_queued")
        if outcome == "taken":
            assert handover is not None
            numbers = await in_thread(self.store.staff_numbers)
            return json_error(409, "taken", claimed_by=numbers.get(handover.claimed_by))
        assert handover is not None
        delivery = None
        if outcome == "claimed":
            from channels.staff_notices import notice_text

            text = notice_text("joined", session.staff.staff_no)
            delivery = await self._say(handover, session, "joined", text, pause=True)
        return web.json_response({"conversation_id": conversation_id, "claimed_by": session.staff.staff_no,
                                  "ticket": handover.ticket_id, "notice": delivery})

    # ------------------------------------------------------------------ a conversation

    async def _held(self, request: web.Request, must_hold: bool) -> "tuple[Optional[Handover], Optional[web.Response]]":
        """The conversation's active hand-over, if this staff member may see it (or, `must_hold`, act on it)."""
        session: Session = request["session"]
        handover = await in_thread(self.store.active, request.match_info["id"])
        if must_hold:
            if handover is None or handover.status != "claimed":
                return None, json_error(409, "not_claimed")
            if handover.claimed_by != session.staff.id:
                return None, json_error(409, "held_by_another")
            return handover, None
        if session.staff.role == SUPERVISOR:
            return handover, None
        if handover is None or (handover.status == "claimed" and handover.claimed_by != session.staff.id):
            return None, json_error(403, "not_yours")
        return handover, None

    async def conversation(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=False)
        if refused is not None:
            return refused
        conversation_id = request.match_info["id"]
        found = await in_thread(self.transcripts.conversation, conversation_id)
        if found is None:
            return json_error(404, "unknown")
        latest = handover or await in_thread(self.store.latest, conversation_id)
        sent = await in_thread(self.store.messages_of, conversation_id)
        ticket_id = (latest.ticket_id if latest else None) or found.slots.get("ticket_id")
        ticket: Optional[Dict[str, Any]] = None
        if ticket_id:
            ticket = {"ticket_id": ticket_id, "details": await in_thread(_ticket_details, ticket_id)}
            if latest is not None:
                ticket.update(reason=latest.reason, status=latest.status, note=latest.note)
        session: Session = request["session"]
        labels = await in_thread(self.store.labels, conversation_id) if session.staff.role == SUPERVISOR else []
        return web.json_response({
            "conversation_id": conversation_id,
            "channel": found.channel,
            "paused": found.paused,
            "identity": found.identity,
            "messages": [m.as_json() for m in found.messages],
            "slots": {k: v for k, v in found.slots.items() if v is not None and k not in HIDDEN_SLOTS},
            "ticket": ticket,
            "handover": latest.as_json() if latest else None,
            "staff_messages": [{k: m[k] for k in ("id", "kind", "text", "status", "detail", "created_at", "staff_no")}
                               for m in sent],
            "labels": [{"time": lab["event_time"], "intent": lab["intent"]} for lab in labels],
        })

    async def _say(self, handover: Handover, session: Session, kind: str, text: str, pause: bool = False,
                   resume: bool = False, slots: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        return await self.delivery.say(handover, session.staff.staff_no, kind, text, pause=pause, resume=resume,
                                       slots=slots)

    async def send(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=True)
        if refused is not None:
            return refused
        assert handover is not None
        text = await _text_field(request, "text")
        if text is None:
            return json_error(400, "text")
        outcome = await self._say(handover, request["session"], "staff", text, pause=True)
        return web.json_response(outcome, status=503 if outcome["status"] == "not_delivered" else 200)

    async def retry(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=True)
        if refused is not None:
            return refused
        message = await in_thread(self.store.message, request.match_info["message_id"])
        if message is None or message["conversation_id"] != request.match_info["id"]:
            return json_error(404, "unknown")
        outcome = await self.delivery.resend(message)
        return web.json_response(outcome, status=503 if outcome["status"] == "not_delivered" else 200)

    async def set_slots(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=True)
        if refused is not None:
            return refused
        body = await _json(request)
        slots = body.get("slots") if isinstance(body, dict) else None
        if not isinstance(slots, dict) or not all(isinstance(k, str) for k in slots):
            return json_error(400, "slots")
        answer = await self.rasa.act({"conversation_id": request.match_info["id"], "slots": slots, "messages": []})
        if answer is None:
            return json_error(503, "rasa_unreachable")
        return web.json_response({"ok": True})

    async def handback(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=True)
        if refused is not None:
            return refused
        assert handover is not None
        session: Session = request["session"]
        body = await _json(request)
        slots = body.get("slots") if isinstance(body, dict) and isinstance(body.get("slots"), dict) else None
        if not await in_thread(self.store.finish, handover.id, session.staff.id, "handed_back"):
            return json_error(409, "not_claimed")
        from channels.staff_notices import notice_text

        outcome = await self._say(handover, session, "handed_back", notice_text("handed_back", session.staff.staff_no),
                                  resume=True, slots=slots)
        return web.json_response({"ok": True, "notice": outcome})

    async def close(self, request: web.Request) -> web.Response:
        handover, refused = await self._held(request, must_hold=True)
        if refused is not None:
            return refused
        assert handover is not None
        session: Session = request["session"]
        note = await _text_field(request, "note")
        if note is None:
            return json_error(400, "note")
        if not await in_thread(self.store.finish, handover.id, session.staff.id, "closed", note):
            return json_error(409, "not_claimed")
        from channels.staff_notices import notice_text

        outcome = await self._say(handover, session, "closed",
                                  notice_text("closed", session.staff.staff_no, handover.ticket_id, note), resume=True)
        return web.json_response({"ok": True, "ticket": handover.ticket_id, "notice": outcome})

    # ------------------------------------------------------------------ review and dashboard

    async def review(self, request: web.Request) -> web.Response:
        start, end, dates = day_range(request)
        conversations = await in_thread(self.transcripts.conversations_between, start, end)
        handed = await in_thread(self.store.handovers_of, [c.conversation_id for c in conversations])
        wanted = {name for name in ("fallback", "low_confidence", "fraud_report", "failed_check", "handover")
                  if request.query.get(name) in ("1", "true")}
        channel, scenario = request.query.get("channel"), request.query.get("scenario")
        items = []
        for found in conversations:
            flags = {**found.flags(), "handover": found.conversation_id in handed}
            if any(not flags[name] for name in wanted) or (channel and found.channel != channel) \
                    or (scenario and found.scenario() != scenario):
                continue
            users = found.user_messages()
            items.append({"conversation_id": found.conversation_id, "channel": found.channel,
                          "started": found.started, "started_text": clock.for_people(found.started), "scenario": found.scenario(), "user_messages": len(users),
                          "first_message": users[0].text[:60] if users else "", "flags": flags,
                          "reasons": sorted({h.reason for h in handed.get(found.conversation_id, [])})})
        return web.json_response({"conversations": items, "scenarios": list(SCENARIOS), "range": dates})

    async def label(self, request: web.Request) -> web.Response:
        session: Session = request["session"]
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("intent"), str) \
                or not isinstance(body.get("time"), (int, float)):
            return json_error(400, "time and intent")
        found = await in_thread(self.transcripts.conversation, request.match_info["id"])
        message = next((m for m in (found.user_messages() if found else []) if m.time == body["time"]), None)
        if message is None:
            return json_error(404, "unknown message")
        await in_thread(self.store.add_label, request.match_info["id"], message.time, message.text, body["intent"],
                        session.staff.id)
        return web.json_response({"ok": True})

    async def export_nlu(self, _: web.Request) -> web.Response:
        marked = await in_thread(self.store.labels)
        return web.Response(text=nlu_yaml(marked), content_type="text/yaml", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="reviewed_nlu.yml"'})

    async def export_story(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["id"]
        found = await in_thread(self.transcripts.conversation, conversation_id)
        if found is None:
            return json_error(404, "unknown")
        marks = {lab["event_time"]: lab["intent"] for lab in await in_thread(self.store.labels, conversation_id)}
        text = stories_yaml([found.story(f"reviewed {conversation_id}", marks)])
        return web.Response(text=text, content_type="text/yaml", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="reviewed_story.yml"'})

    async def dashboard(self, request: web.Request) -> web.Response:
        start, end, dates = day_range(request)
        conversations = await in_thread(self.transcripts.conversations_between, start, end)
        handovers = await in_thread(self.store.handovers_between, start, end)
        return web.json_response({**dashboard(conversations, handovers, start, end), "range": dates})


def _same(given: Optional[str], expected: str) -> bool:
    import hmac

    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


async def _json(request: web.Request) -> Any:
    try:
        return await request.json() if request.can_read_body else {}
    except (ValueError, UnicodeDecodeError):
        return None


async def _text_field(request: web.Request, name: str) -> Optional[str]:
    body = await _json(request)
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return None
    return value.strip()


def _ticket_details(ticket_id: str) -> Optional[Dict[str, Any]]:
    """The ticket's time and case, read from the back office's ticket table (xiaoan/ticket_table.py: the back
    office writes it, the console only reads it, without importing the action server)."""
    try:
        found = reader_for(os.environ.get(BACKOFFICE_URL_ENV, DEFAULT_BACKOFFICE_URL)).details(ticket_id)
    except Exception:  # noqa: BLE001 - the ticket number is still shown
        logger.exception("ticket lookup failed")
        return None
    return {**found, "created_at": clock.for_people(found["created_at"])} if found else None


def build(rasa_url: Optional[str] = None) -> Console:
    return Console(get_store(), Transcripts(tracker_store_url()),
                   RasaLink(rasa_url or os.environ.get("RASA_URL") or "http://127.0.0.1:5005", rasa_token()))


def main() -> None:
    from xiaoan.runtime import logs

    if logs.json_logging_wanted():  # under make run / make scale: JSON lines like every other process
        logs.use_json_logging(logging.INFO)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    port = int(os.environ.get("CONSOLE_PORT") or 8090)
    web.run_app(build().app(), host=listen_host(), port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()


__all__ = ["Console", "build", "main", "List"]
