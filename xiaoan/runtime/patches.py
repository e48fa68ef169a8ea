"""Every place 小安 changes, overrides or copies a Rasa or library internal, in one table.

Rasa's extension points (components, policies, tracker and lock stores,
channels, endpoints) need no row here. A row is for what they do not cover:
a replaced function, an overridden private method, a module import blocked, a
copied schema. Each row says what it touches, why, and `expect()`: the shape
of the internal it relies on. tests/test_patches.py runs every row's `expect`,
so a Rasa or library upgrade that moves one fails there, by name, instead of
misbehaving at run time.

`install(server)` applies the rows that change something, in table order,
each in the processes it names (the Rasa server, the action server).
"""
from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, Iterable, Optional, Sequence, Tuple


RASA = frozenset({"rasa"})
ACTIONS = frozenset({"actions"})
BOTH = RASA | ACTIONS


class PatchMismatch(AssertionError):
    """A patched internal no longer looks as the patch was written for."""


@dataclass(frozen=True)
class Patch:
    name: str
    target: str  # "module:Attribute.path" of what is replaced, overridden or copied
    why: str
    expect: Callable[[], None]  # raises PatchMismatch when the target moved
    install: Optional[Callable[[], None]] = None  # None: nothing to apply at start-up (an override or a copy)
    processes: FrozenSet[str] = RASA  # where `install` runs: the Rasa server, the action server or both


# ---------------------------------------------------------------------- checks


def resolve(target: str) -> Any:
    module_name, _, path = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in path.split(".") if path else ():
        if not hasattr(found, part):
            raise PatchMismatch(f"{target}: {part!r} is gone")
        found = getattr(found, part)
    return found


def _original(function: Any) -> Any:
    """The function a patch wrapped, if it is installed (its `xiaoan_original`), else itself."""
    return getattr(function, "xiaoan_original", function)


def expect_parameters(target: str, names: Sequence[str], unwrap: Callable[[Any], Any] = _original) -> None:
    """`target`'s parameters start with `names` (a rename, removal or reorder fails)."""
    found = unwrap(resolve(target))
    params = [p.name for p in inspect.signature(found).parameters.values()]
    if params[: len(names)] != list(names):
        raise PatchMismatch(f"{target}: parameters {params}, the patch expects {list(names)} first")


def expect_attributes(target: str, names: Iterable[str]) -> None:
    found = resolve(target)
    missing = [n for n in names if not hasattr(found, n)]
    if missing:
        raise PatchMismatch(f"{target}: no {missing}")


def expect_sets(target: str, names: Iterable[str]) -> None:
    """`target` (an __init__) still sets these instance attributes, which the patch reads (`self.<name> =`)."""
    source = inspect.getsource(resolve(target))
    missing = [n for n in names if f"self.{n} =" not in source and f"self.{n}: " not in source]
    if missing:
        raise PatchMismatch(f"{target}: no longer sets {missing}")


def expect_version(distribution: str, version: str) -> None:
    from importlib.metadata import version as installed

    if installed(distribution) != version:
        raise PatchMismatch(f"{distribution} {installed(distribution)}: the patch was written for {version}")


# ---------------------------------------------------------------------- the rows' expectations and installers


def _expect_versions() -> None:
    expect_version("rasa", "3.6.21")
    expect_version("rasa-sdk", "3.6.2")


def _block_jax() -> None:
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]


def _expect_tensorflow_stand_in() -> None:
    """With the stand-in (no_tensorflow.py), Rasa's server modules still import in a fresh interpreter, and
    TensorFlow is the stand-in there; tests/test_no_tensorflow.py checks a model predicts the same with it."""
    import subprocess

    script = ("import sys; from xiaoan.runtime import no_tensorflow as n; n.install(); "
              "import rasa.core.agent, rasa.core.run, rasa.engine.recipes.default_recipe, rasa.core.processor; "
              "assert n.stood_in(), 'real TensorFlow imported'")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise PatchMismatch(f"with the TensorFlow stand-in, Rasa's server no longer imports: {done.stderr[-500:]}")


def _expect_jax_blockable() -> None:
    """TensorFlow 2.12 imports jax only for its jax2tf converter, inside a try: blocking it is harmless.

    Checked in a fresh interpreter: TensorFlow and Rasa's models import with jax blocked.
    """
    import subprocess

    expect_version("tensorflow", "2.12.0")
    script = "import sys; sys.modules['jax'] = None; import tensorflow, rasa.utils.tensorflow.models"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise PatchMismatch(f"with jax blocked, TensorFlow no longer imports: {done.stderr[-500:]}")


def _install_processor() -> None:
    import rasa.core.agent

    from xiaoan.runtime.processor import XiaoanProcessor

    rasa.core.agent.MessageProcessor = XiaoanProcessor  # type: ignore[misc]


def _expect_processor() -> None:
    import rasa.core.agent
    from rasa.core.processor import MessageProcessor

    built = rasa.core.agent.MessageProcessor
    if not (built is MessageProcessor or (inspect.isclass(built) and issubclass(built, MessageProcessor))):
        raise PatchMismatch("rasa.core.agent no longer builds rasa.core.processor.MessageProcessor")
    for name, params in (("_run_action", ["self", "action", "tracker", "output_channel", "nlg", "prediction"]),
                         ("_has_session_expired", ["self", "tracker"]),
                         ("_should_handle_message", ["tracker"]),  # a staticmethod
                         ("run_action_extract_slots", ["self", "output_channel", "tracker"]),
                         ("log_message", ["self", "message", "should_save_tracker"]),
                         ("parse_message", ["self", "message", "tracker", "only_output_properties"]),
                         ("handle_message", ["self", "message"]),
                         ("get_tracker", ["self", "conversation_id"])):
        expect_parameters(f"rasa.core.processor:MessageProcessor.{name}", params, unwrap=lambda f: f)


def _install_action_replies() -> None:
    import xiaoan.runtime.action_replies as action_replies

    action_replies.install()


def _expect_action_replies() -> None:
    expect_parameters("rasa.core.actions.action:RemoteAction._validate_action_result", ["self", "result"],
                      unwrap=lambda f: f)
    expect_attributes("rasa.core.actions.action:RemoteAction", ["action_response_format_spec"])


def _expect_configure_app() -> None:
    expect_parameters("rasa.core.run:configure_app", ["input_channels", "cors", "auth_token"])


def _install_health_routes_rasa() -> None:
    import xiaoan.runtime.operations as operations

    operations.install_rasa_server()


def _install_health_routes_actions() -> None:
    import xiaoan.runtime.operations as operations

    operations.install_action_server()


def _expect_action_server_hook() -> None:
    from rasa_sdk.plugin import plugin_manager

    if not hasattr(plugin_manager().hook, "attach_sanic_app_extensions"):
        raise PatchMismatch("rasa-sdk's plugin hook attach_sanic_app_extensions is gone")


def _install_logs() -> None:
    import xiaoan.runtime.logs as logs

    logs.install()


def _expect_logs() -> None:
    for module in ("rasa.utils.io", "rasa_sdk.utils"):
        expect_parameters(f"{module}:configure_colored_logging", ["loglevel"])


def _expect_tracker_store_save() -> None:
    expect_attributes("rasa.core.tracker_store:SQLTrackerStore",
                      ["_additional_events", "stream_events", "session_scope", "SQLEvent"])
    expect_parameters("rasa.core.tracker_store:SQLTrackerStore._additional_events",
                      ["self", "session", "tracker"], unwrap=lambda f: f)
    expect_event_columns(RASA_EVENT_COLUMNS)


def _expect_processor_attributes_read() -> None:
    expect_attributes("rasa.core.processor:MessageProcessor", ["_send_bot_messages"])
    expect_sets("rasa.core.processor:MessageProcessor.__init__", ["domain", "tracker_store", "lock_store", "action_endpoint"])
    expect_sets("rasa.utils.endpoints:EndpointConfig.__init__", ["headers"])  # the action key rides on it


def _expect_endpoint_session() -> None:
    """KeepAliveEndpoint (action_session.py) relies on `request` taking its session from `self.session()` in an
    `async with`, and on the constructor's parameters and attributes it copies."""
    source = inspect.getsource(resolve("rasa.utils.endpoints:EndpointConfig.request"))
    if "async with self.session() as session" not in source:
        raise PatchMismatch("EndpointConfig.request no longer opens `async with self.session() as session`")
    expect_parameters("rasa.utils.endpoints:EndpointConfig.__init__",
                      ["self", "url", "params", "headers", "basic_auth", "token", "token_name", "cafile"],
                      unwrap=lambda f: f)
    expect_sets("rasa.utils.endpoints:EndpointConfig.__init__",
                ["url", "params", "headers", "basic_auth", "token", "token_name", "cafile", "kwargs"])
    expect_attributes("rasa.utils.endpoints", ["DEFAULT_REQUEST_TIMEOUT"])


def _expect_engineio_internals() -> None:
    expect_parameters("engineio.async_server:AsyncServer._cors_headers", ["self", "environ"], unwrap=lambda f: f)
    expect_parameters("engineio.async_server:AsyncServer.handle_request", ["self"], unwrap=lambda f: f)
    expect_sets("engineio.base_server:BaseServer.__init__", ["max_http_buffer_size"])
    expect_parameters("socketio.async_server:AsyncServer._engineio_server_class", ["self"], unwrap=lambda f: f)
    expect_attributes("socketio.async_manager:AsyncManager", ["enter_room", "get_rooms"])
    expect_parameters("rasa.core.channels.socketio:SocketIOInput.__init__",
                      ["self", "user_message_evt", "bot_message_evt", "namespace"], unwrap=lambda f: f)


def _expect_socketio_rooms() -> None:
    """channels/staff.py reads AsyncManager.rooms[namespace][room] to know whether a page is connected."""
    expect_sets("socketio.base_manager:BaseManager.__init__", ["rooms"])


def _expect_staff_route_internals() -> None:
    expect_attributes("rasa.core.agent:Agent", ["is_ready"])
    expect_sets("rasa.core.agent:Agent.__init__", ["lock_store", "processor", "tracker_store", "domain"])
    expect_parameters("rasa.shared.core.trackers:DialogueStateTracker.update", ["self", "event", "domain"],
                      unwrap=lambda f: f)
    expect_attributes("rasa.shared.core.trackers:DialogueStateTracker", ["latest_action_name", "is_paused"])


def _expect_readiness_internals() -> None:
    expect_sets("rasa.core.tracker_store:FailSafeTrackerStore.__init__", ["_tracker_store"])
    expect_sets("rasa.core.lock_store:RedisLockStore.__init__", ["red"])
    expect_sets("rasa.core.tracker_store:SQLTrackerStore.__init__", ["engine", "sessionmaker"])


def _expect_lock_store_base() -> None:
    expect_attributes("rasa.core.lock_store:LockStore", ["lock", "get_or_create_lock", "save_lock", "issue_ticket",
                                                         "get_lock", "delete_lock"])


# The columns of Rasa's `events` table (SQLTrackerStore.SQLEvent) that the console reads without importing Rasa
# (console/transcripts.py declares the same table) and MaskingSQLTrackerStore.save writes.
RASA_EVENT_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("id", "INTEGER"), ("sender_id", "VARCHAR(255)"), ("type_name", "VARCHAR(255)"), ("timestamp", "FLOAT"),
    ("intent_name", "VARCHAR(255)"), ("action_name", "VARCHAR(255)"), ("data", "TEXT"),
)


def expect_event_columns(columns: Sequence[Tuple[str, str]]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    table = SQLTrackerStore.SQLEvent.__table__
    found = tuple((c.name, str(c.type)) for c in table.columns)
    if table.name != "events" or found != tuple(columns):
        raise PatchMismatch(f"Rasa's events table is now {table.name} {found}")


# ---------------------------------------------------------------------- the table

PATCHES: Tuple[Patch, ...] = (
    Patch("versions", "rasa, rasa-sdk",
          "every row below was written against these versions; the runtime refuses others (versions.py)",
          _expect_versions),
    Patch("logs", "rasa.utils.io:configure_colored_logging, rasa_sdk.utils:configure_colored_logging",
          "JSON lines instead of coloured console logs when XIAOAN_LOG_FORMAT=json (logs.py)",
          _expect_logs, _install_logs, BOTH),
    Patch("health-routes-actions", "rasa_sdk.plugin:plugin_manager (attach_sanic_app_extensions)",
          "the action server's /health and /metrics through rasa-sdk's own plugin hook (operations.py)",
          _expect_action_server_hook, _install_health_routes_actions, ACTIONS),
    Patch("no-tensorflow", "sys.meta_path (a stand-in for tensorflow and its companions; xiaoan/runtime/__main__.py)",
          "a Rasa server whose model runs no TensorFlow never imports it: 724 → 309 MB, model load 13 → 6 s "
          "(no_tensorflow.py; installed by `run` before Rasa is imported, so not by install())",
          _expect_tensorflow_stand_in),
    Patch("no-jax", "sys.modules['jax']",
          "TensorFlow imports jax only for a converter Rasa never uses: ~100 MB less per server",
          _expect_jax_blockable, _block_jax),
    Patch("action-replies", "rasa.core.actions.action:RemoteAction._validate_action_result",
          "the reply schema checked by a validator built once, not rebuilt on every action call (action_replies.py)",
          _expect_action_replies, _install_action_replies),
    Patch("health-routes-rasa", "rasa.core.run:configure_app",
          "the Rasa server's app gets /health/live, /health/ready and /metrics (operations.py)",
          _expect_configure_app, _install_health_routes_rasa),
    Patch("processor", "rasa.core.agent:MessageProcessor (and its private _run_action, _has_session_expired)",
          "the ingress, the busy answer, replays and paused conversations (processor.py): Rasa has no hook",
          _expect_processor, _install_processor),
    Patch("tracker-store-save", "rasa.core.tracker_store:SQLTrackerStore.save (uses _additional_events, SQLEvent)",
          "one Core insert of masked events instead of the ORM's unit of work; the last saved tracker kept in "
          "memory while the conversation's largest event id is unchanged (tracker_store.py, tracker_cache.py)",
          _expect_tracker_store_save),
    Patch("action-session", "rasa.utils.endpoints:EndpointConfig.session (overridden: KeepAliveEndpoint)",
          "one kept-alive connection pool to the action server instead of a new session and TCP connection per "
          "action call, i.e. per message (action_session.py; docs/benchmarks.md, Lean path)",
          _expect_endpoint_session),
    Patch("processor-reads", "rasa.core.processor:MessageProcessor._send_bot_messages",
          "the busy answer and replays send stored bot messages the way Rasa does (processor.py, busy.py)",
          _expect_processor_attributes_read),
    Patch("engineio-overrides", "engineio AsyncServer._cors_headers / handle_request; "
          "socketio AsyncServer._engineio_server_class; rasa SocketIOInput",
          "an origin check, big polls refused with 413 before engine.io hangs, rooms that work (channels/socketio.py)",
          _expect_engineio_internals),
    Patch("socketio-rooms", "socketio.async_manager:AsyncManager.rooms (read)",
          "a staff message waits for the page's reconnect when nobody is in the session's room (channels/staff.py)",
          _expect_socketio_rooms),
    Patch("staff-route", "app.ctx.agent (lock_store, processor, tracker_store), DialogueStateTracker.update",
          "staff messages appended under the conversation's lock and sent on the user's channel (channels/staff.py); "
          "the REST pull door reads the conversation's owner from the tracker store (channels/rest_pull.py)",
          _expect_staff_route_internals),
    Patch("readiness-reads", "FailSafeTrackerStore._tracker_store, RedisLockStore.red (read)",
          "readiness asks the real tracker store and the lock store's Redis, not Rasa's fail-safe wrapper (health.py)",
          _expect_readiness_internals),
    Patch("lock-store", "rasa.core.lock_store:LockStore (subclassed: RedisTicketLockStore)",
          "Rasa's Redis lock store is not atomic across servers (Rasa issue 9213; lock_store.py)",
          _expect_lock_store_base),
    Patch("events-table-copy", "rasa.core.tracker_store:SQLTrackerStore.SQLEvent (copied in console/transcripts.py)",
          "the console reads transcripts without importing Rasa",
          lambda: expect_event_columns(RASA_EVENT_COLUMNS)),
)


def install(server: bool = True) -> None:
    """Applies the table's changes for this process: a Rasa server (`server`) or the action server."""
    process = "rasa" if server else "actions"
    for patch in PATCHES:
        if patch.install is not None and process in patch.processes:
            patch.install()


__all__ = ["Patch", "PatchMismatch", "PATCHES", "RASA_EVENT_COLUMNS", "install", "resolve"]
