"""A Redis ticket-lock store that stays correct with several Rasa servers.

Rasa 3.6's `RedisLockStore` issues and releases tickets by GETting the lock's
JSON, changing it in Python and SETting it back (Rasa issue 9213). Two servers
doing that at the same time both read the same queue, so both hand out the
same ticket number or one overwrites the other's ticket, and both believe
they hold the conversation. Here every change to a lock (issue a ticket, drop
expired tickets, release a ticket, delete the empty lock) is one Lua script,
which Redis runs atomically, so there is no window between read and write.

A ticket lives while its owner keeps polling for its turn or, once served,
renews it (three times per lifetime), and one lifetime after that stops. With Rasa's rule (a lifetime counted from issue), the
tickets queued behind a server that was killed while holding a conversation
expire together with the dead ticket, and every waiting message fails.

Configure it in endpoints.yml (all servers sharing a Redis must use it):

    lock_store:
      type: xiaoan.runtime.lock_store.AtomicRedisLockStore
      url: ${REDIS_HOST}      # a host name, or redis://[:password@]host[:port][/db]
      port: 6379
      db: 1
      password: ${REDIS_PASSWORD}
      key_prefix: xiaoan
      use_ssl: false

The stored JSON is Rasa's `TicketLock` format, so `get_lock` and Rasa's
`TicketLock` keep working; tickets may carry an extra `token` field, which
Rasa ignores.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, List, Optional, Text, Tuple, Union
from urllib.parse import unquote, urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig

import xiaoan.runtime.metrics as metrics

logger = logging.getLogger(__name__)

# Keep a lock key this long after its last ticket expires, so a key left by a
# crashed server disappears on its own but never before its tickets expire.
KEY_TTL_MARGIN_MS = 1000

# Shared Lua helpers. Time comes from Redis (`TIME`), so every Rasa server
# judges expiry by the same clock. Tickets are stored as JSON strings inside
# the lock's JSON, exactly as Rasa's `TicketLock.dumps` writes them.
_LUA_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end

local function now_seconds()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function load_tickets(key)
  local raw = redis.call('GET', key)
  local tickets = {}
  if not raw then return tickets end
  local doc = cjson.decode(raw)
  if type(doc['tickets']) ~= 'table' then return tickets end
  for _, item in ipairs(doc['tickets']) do
    if type(item) == 'string' then item = cjson.decode(item) end
    table.insert(tickets, item)
  end
  return tickets
end

-- Rasa's Ticket.has_expired: expired once now > expires.
local function live_tickets(tickets, now)
  local kept = {}
  for _, t in ipairs(tickets) do
    if tonumber(t['expires']) >= now then table.insert(kept, t) end
  end
  return kept
end

-- Write the queue back (key TTL = last expiry + margin) or delete it if empty.
local function store_tickets(key, conversation_id, tickets, now, margin_ms)
  if #tickets == 0 then
    redis.call('DEL', key)
    return false
  end
  local encoded = {}
  local last_expiry = now
  for i, t in ipairs(tickets) do
    encoded[i] = cjson.encode(t)
    if tonumber(t['expires']) > last_expiry then last_expiry = tonumber(t['expires']) end
  end
  local doc = cjson.encode({conversation_id = conversation_id, tickets = encoded})
  local ttl = math.ceil((last_expiry - now) * 1000) + margin_ms
  redis.call('SET', key, doc, 'PX', ttl)
  return doc
end

local function matches(t, number, token)
  if tonumber(t['number']) ~= number then return false end
  if token == '' or t['token'] == nil then return true end
  return t['token'] == token
end
"""

# KEYS[1]=lock key; ARGV: conversation id, lifetime (s), token, margin (ms).
# Returns the new ticket's number: one more than the last live ticket, 0 if
# the queue is empty (Rasa's `TicketLock.issue_ticket`).
_LUA_ISSUE = _LUA_PRELUDE + """
local now = now_seconds()
local tickets = live_tickets(load_tickets(KEYS[1]), now)
local number = 0
if #tickets > 0 then number = tonumber(tickets[#tickets]['number']) + 1 end
local ticket = {number = number, expires = now + tonumber(ARGV[2])}
if ARGV[3] ~= '' then ticket['token'] = ARGV[3] end
table.insert(tickets, ticket)
store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
return number
"""

# KEYS[1]=lock key; ARGV: conversation id, ticket number, token, margin (ms),
# lifetime (s). Drops expired tickets and renews this ticket's lifetime: a
# ticket lives while its owner keeps polling (waiting in the queue, however
# long) and for one lifetime after the owner's last poll, so the ticket of a
# server that died expires while the live servers' waiting tickets do not.
# Returns {state, now_serving, lock json}: state 1 = this ticket is being
# served, 0 = wait, -1 = this ticket is gone (expired or released).
_LUA_POLL = _LUA_PRELUDE + """
local now = now_seconds()
local tickets = live_tickets(load_tickets(KEYS[1]), now)
local number = tonumber(ARGV[2])
local mine = false
for _, t in ipairs(tickets) do
  if matches(t, number, ARGV[3]) then
    mine = true
    t['expires'] = now + tonumber(ARGV[5])
  end
end
if not mine then
  store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
  return {-1, false, false}
end
local doc = store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[4]))
local serving = tonumber(tickets[1]['number'])
if matches(tickets[1], number, ARGV[3]) then return {1, serving, doc} end
return {0, serving, doc}
"""

# KEYS[1]=lock key; ARGV: conversation id, ticket number, token ('' = any),
# margin (ms). Removes that ticket and expired ones; deletes the key when no
# ticket is left, in the same step, so nobody's new ticket is deleted with it.
# Returns 1 if the ticket was there.
_LUA_RELEASE = _LUA_PRELUDE + """
local now = now_seconds()
local all = load_tickets(KEYS[1])
local tickets = live_tickets(all, now)
local number = tonumber(ARGV[2])
local kept = {}
local removed = 0
for _, t in ipairs(tickets) do
  if removed == 0 and matches(t, number, ARGV[3]) then removed = 1 else table.insert(kept, t) end
end
if #kept ~= #all then
  store_tickets(KEYS[1], ARGV[1], kept, now, tonumber(ARGV[4]))
end
return removed
"""

# KEYS[1]=lock key; ARGV: conversation id, margin (ms). Drops expired tickets.
_LUA_PURGE = _LUA_PRELUDE + """
local now = now_seconds()
local all = load_tickets(KEYS[1])
local tickets = live_tickets(all, now)
if #tickets ~= #all then store_tickets(KEYS[1], ARGV[1], tickets, now, tonumber(ARGV[2])) end
return #tickets
"""

_TRUE_STRINGS = {"1", "true", "yes", "on"}
_KNOWN_SETTINGS = {
    "host",
    "port",
    "db",
    "username",
    "password",
    "use_ssl",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_ca_certs",
    "key_prefix",
    "socket_timeout",
    "ticket_lifetime",
}


def _as_bool(value: Union[bool, Text, int, None]) -> bool:
    """endpoints.yml values filled from ${ENV} arrive as strings ("false")."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    return bool(value)


def _settings_from_url(url: Text) -> Dict[Text, Any]:
    """`url` may be a bare host (Rasa's convention) or a redis:// URL."""
    if "://" not in url:
        return {"host": url}
    parsed = urlparse(url)
    settings: Dict[Text, Any] = {"host": parsed.hostname or "localhost"}
    if parsed.port:
        settings["port"] = parsed.port
    if parsed.username:
        settings["username"] = unquote(parsed.username)
    if parsed.password:
        settings["password"] = unquote(parsed.password)
    if parsed.path.strip("/"):
        settings["db"] = int(parsed.path.strip("/"))
    if parsed.scheme == "rediss":
        settings["use_ssl"] = True
    return settings


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose every lock change is one atomic Lua script.

    Subclasses `RedisLockStore` to reuse its connection and key-prefix set-up,
    `get_lock`, and so that Rasa still treats it as safe for several Sanic
    workers. The overridden methods are all the read-modify-write paths of
    `LockStore`: `issue_ticket`, `lock`/`_acquire_lock`, `update_lock`,
    `finish_serving` and `cleanup`. Inherited `save_lock`/`delete_lock` are
    plain single writes kept for API compatibility; nothing here uses them.
    """

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        host: Text = "localhost",
        port: Union[int, Text] = 6379,
        db: Union[int, Text] = 1,
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        use_ssl: Union[bool, Text] = False,
        ssl_certfile: Optional[Text] = None,
        ssl_keyfile: Optional[Text] = None,
        ssl_ca_certs: Optional[Text] = None,
        key_prefix: Optional[Text] = None,
        socket_timeout: Union[float, Text] = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
        ticket_lifetime: Union[float, Text, None] = None,
    ) -> None:
        """Connect to Redis.

        `ticket_lifetime` (seconds) replaces Rasa's 60 s lock lifetime: a live
        holder renews its ticket, so it can be short, and the conversations of
        a server that died are free again after that long.

        Rasa builds custom lock stores as `cls(endpoint_config=...)`: then
        `url` is the host (or a redis:// URL) and the other endpoints.yml keys
        override the keyword defaults. Direct keyword use works too (tests).
        """
        settings: Dict[Text, Any] = dict(
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            use_ssl=use_ssl,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ssl_ca_certs=ssl_ca_certs,
            key_prefix=key_prefix,
            socket_timeout=socket_timeout,
            ticket_lifetime=ticket_lifetime,
        )
        if endpoint_config is not None:
            if endpoint_config.url:
                settings.update(_settings_from_url(str(endpoint_config.url)))
            for name, value in endpoint_config.kwargs.items():
                if name not in _KNOWN_SETTINGS:
                    logger.warning(f"Ignoring unknown lock_store setting '{name}'.")
                elif value is not None and value != "":  # `port: ${REDIS_PORT}` with REDIS_PORT="" keeps the default
                    settings[name] = value
        # Empty strings mean "not given" (e.g. `password: ${REDIS_PASSWORD}` set to "").
        for name in ("username", "password", "ssl_certfile", "ssl_keyfile", "ssl_ca_certs", "key_prefix",
                     "ticket_lifetime"):
            if settings[name] == "":
                settings[name] = None

        super().__init__(
            host=settings["host"] or "localhost",
            port=int(settings["port"]),
            db=int(settings["db"]),
            username=settings["username"],
            password=settings["password"],
            use_ssl=_as_bool(settings["use_ssl"]),
            ssl_certfile=settings["ssl_certfile"],
            ssl_keyfile=settings["ssl_keyfile"],
            ssl_ca_certs=settings["ssl_ca_certs"],
            key_prefix=settings["key_prefix"],
            socket_timeout=float(settings["socket_timeout"]),
        )
        lifetime = settings["ticket_lifetime"]
        self.ticket_lifetime: Optional[float] = float(lifetime) if lifetime is not None else None
        if self.ticket_lifetime is not None and self.ticket_lifetime <= 0:
            raise ValueError("lock_store: ticket_lifetime must be a positive number of seconds")
        # Script objects run EVALSHA and fall back to EVAL after a Redis restart.
        self._issue_script = self.red.register_script(_LUA_ISSUE)
        self._poll_script = self.red.register_script(_LUA_POLL)
        self._release_script = self.red.register_script(_LUA_RELEASE)
        self._purge_script = self.red.register_script(_LUA_PURGE)

    def _key(self, conversation_id: Text) -> Text:
        return self.key_prefix + conversation_id

    # --- atomic primitives -------------------------------------------------

    def _issue(self, conversation_id: Text, lock_lifetime: float, token: Text = "") -> int:
        """Append a ticket in one script; `token` ties it to one `lock()` call."""
        try:
            return int(
                self._issue_script(
                    keys=[self._key(conversation_id)],
                    args=[conversation_id, float(lock_lifetime), token, KEY_TTL_MARGIN_MS],
                )
            )
        except Exception as e:
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e

    def _poll(
        self, conversation_id: Text, ticket: int, token: Text, lock_lifetime: float = LOCK_LIFETIME
    ) -> Tuple[int, Optional[int], Optional[Text]]:
        """(state, now serving, lock json) for `ticket`, dropping expired tickets, renewing this one."""
        state, serving, doc = self._poll_script(
            keys=[self._key(conversation_id)],
            args=[conversation_id, ticket, token, KEY_TTL_MARGIN_MS, float(lock_lifetime)],
        )
        if isinstance(doc, bytes):
            doc = doc.decode("utf-8")
        return int(state), (int(serving) if serving is not None else None), doc

    def _release(self, conversation_id: Text, ticket: int, token: Text = "") -> bool:
        """Remove `ticket` and delete the lock if it is then empty, atomically."""
        removed = self._release_script(
            keys=[self._key(conversation_id)],
            args=[conversation_id, ticket, token, KEY_TTL_MARGIN_MS],
        )
        return bool(removed)

    # --- LockStore API ------------------------------------------------------

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket number; concurrent callers never share one."""
        logger.debug(f"Issuing ticket for conversation '{conversation_id}'.")
        return self._issue(conversation_id, lock_lifetime)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `LockStore.lock`, with the ticket tagged by a random token.

        Ticket numbers restart at 0 once a queue empties, so a holder whose
        ticket expired could otherwise release a later holder's ticket with
        the same number on its way out. The token makes the release precise.
        """
        lock_lifetime = self.ticket_lifetime or lock_lifetime
        token = uuid.uuid4().hex
        started = time.perf_counter()  # the wait counted in xiaoan_lock_wait_seconds
        try:
            ticket = self._issue(conversation_id, lock_lifetime, token)
        except LockError:
            metrics.lock_failed("store")
            raise
        try:
            try:
                lock = await self._wait_for_turn(conversation_id, ticket, token, wait_time_in_seconds, lock_lifetime)
            except Exception as error:
                metrics.lock_failed("timeout" if isinstance(error, LockError) else "store")
                raise
            metrics.lock_waited(time.perf_counter() - started)
            heartbeat = asyncio.ensure_future(self._keep_alive(conversation_id, ticket, token, lock_lifetime))
            try:
                yield lock
            finally:
                heartbeat.cancel()
        finally:
            self._release(conversation_id, ticket, token)

    async def _keep_alive(self, conversation_id: Text, ticket: int, token: Text, lock_lifetime: float) -> None:
        """Renews the held ticket three times per lifetime, so only a dead holder's expires."""
        while True:
            await asyncio.sleep(lock_lifetime / 3)
            try:
                state, _, _ = self._poll(conversation_id, ticket, token, lock_lifetime)
            except Exception:  # noqa: BLE001 - Redis hiccup: try again next beat
                logger.warning(f"Could not renew the lock of conversation '{conversation_id}'.")
                continue
            if state != 1:
                logger.warning(f"Lost the lock of conversation '{conversation_id}' while holding it.")
                return

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Base-class hook, for callers that issued a ticket themselves."""
        return await self._wait_for_turn(conversation_id, ticket, "", wait_time_in_seconds)

    async def _wait_for_turn(
        self,
        conversation_id: Text,
        ticket: int,
        token: Text,
        wait_time_in_seconds: float,
        lock_lifetime: float = LOCK_LIFETIME,
    ) -> TicketLock:
        """Poll until `ticket` is now serving; fail once it has expired.

        Each poll is one script, so the "is it my turn" answer and the removal
        of expired tickets come from the same consistent state.
        """
        logger.debug(f"Acquiring lock for conversation '{conversation_id}'.")
        while True:
            state, serving, doc = self._poll(conversation_id, ticket, token, lock_lifetime)
            if state == 1 and doc:
                logger.debug(f"Acquired lock for conversation '{conversation_id}'.")
                return TicketLock.from_dict(json.loads(doc))
            if state != 0:
                break
            logger.debug(
                f"Failed to acquire lock for conversation ID '{conversation_id}' "
                f"because {ticket - (serving or 0)} other item(s) for this "
                f"conversation ID have to be finished processing first. "
                f"Retrying in {wait_time_in_seconds} seconds ..."
            )
            await asyncio.sleep(wait_time_in_seconds)

        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    def update_lock(self, conversation_id: Text) -> None:
        """Drop expired tickets without overwriting concurrently issued ones."""
        self._purge_script(keys=[self._key(conversation_id)], args=[conversation_id, KEY_TTL_MARGIN_MS])

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove the ticket atomically (and the lock, if it was the last)."""
        self._release(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Release and delete-if-empty in one step.

        Rasa's version checks "someone waiting?" and then deletes; a ticket
        issued in between is deleted with the lock and its holder fails.
        """
        removed = self._release(conversation_id, ticket_number)
        logger.debug(
            f"Released ticket {ticket_number} for conversation '{conversation_id}'"
            + ("." if removed else " (it had already expired).")
        )

    def tickets(self, conversation_id: Text) -> List[Dict[Text, Any]]:
        """The raw ticket dicts of a lock (for monitoring and tests)."""
        raw = self.red.get(self._key(conversation_id))
        if not raw:
            return []
        return [json.loads(t) if isinstance(t, str) else t for t in json.loads(raw).get("tickets", [])]
