"""ops/: the set-ups' configuration, checked without starting servers; supervisord itself with `sleep` programs."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from ops import scale
from ops.services import ServiceError
from ops.supervisor_config import Program, SupervisorConfig
from ops.supervisor_run import Supervisor


def test_nginx_config_is_valid_and_sticky_where_it_must_be(tmp_path):
    conf = scale.render_nginx(tmp_path, 18088, [15101, 15102])
    text = conf.read_text(encoding="utf-8")
    assert "ip_hash;" in text and "hash $arg_openid consistent;" in text
    assert text.count("server 127.0.0.1:15101") == 3
    # only message webhooks (deduplicated by message id) are retried on another server
    api_location = text.split("location / {")[1]
    assert "non_idempotent" not in api_location and text.count("non_idempotent;") == 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_scale_endpoints_use_postgres_and_the_atomic_lock(tmp_path):
    endpoints = yaml.safe_load(scale.scale_endpoints(tmp_path / "e.yml", "atomic", "xiaoanatomic").read_text())
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["type"] == "xiaoan.runtime.tracker_store.MaskingSQLTrackerStore"
    assert endpoints["lock_store"]["type"] == "xiaoan.runtime.lock_store.AtomicRedisLockStore"
    assert endpoints["lock_store"]["key_prefix"].isalnum()  # Rasa ignores any other prefix
    assert endpoints["lock_store"]["ticket_lifetime"] == scale.TICKET_LIFETIME_S
    stock = yaml.safe_load(scale.scale_endpoints(tmp_path / "s.yml", "stock", "xiaoanstock").read_text())
    assert stock["lock_store"]["type"] == "redis" and "ticket_lifetime" not in stock["lock_store"]


def test_missing_services_are_named_with_how_to_start_them(monkeypatch):
    monkeypatch.setattr(scale, "reachable", lambda host, port, timeout=2.0: port != scale.PG_PORT)
    with pytest.raises(scale.ScaleUnavailable) as missing:
        scale.check_services()
    message = str(missing.value)
    assert "PostgreSQL is not reachable" in message and "pg_ctlcluster" in message
    assert "Redis" not in message


@pytest.mark.parametrize(
    "host, token, refused",
    [("127.0.0.1", None, False), ("localhost", None, False), ("0.0.0.0", None, True),
     ("10.0.0.5", None, True), ("0.0.0.0", "s3cret-token", False)],
)
def test_http_api_leaves_loopback_only_with_a_token(host, token, refused):
    from ops.local import api_exposure_problem

    problem = api_exposure_problem(host, token)
    assert (problem is not None) == refused
    if refused:
        assert "RASA_AUTH_TOKEN" in problem


def test_nginx_leaves_out_servers_that_are_not_ready_but_never_all_of_them(tmp_path):
    from ops import nginx

    text = nginx.render(tmp_path, 18088, [15101, 15102], down=[15102]).read_text(encoding="utf-8")
    assert text.count("server 127.0.0.1:15102 max_fails=3 fail_timeout=5s down;") == 3  # all three upstreams
    assert "15101 max_fails=3 fail_timeout=5s down" not in text
    text = nginx.render(tmp_path, 18088, [15101, 15102], down=[15101, 15102]).read_text(encoding="utf-8")
    assert " down;" not in text  # nobody ready: nginx tries them all
    # a 503 from a server that is not ready sends the message elsewhere; metrics are never served through nginx
    assert text.count("http_503 non_idempotent;") == 2
    assert "location = /metrics {\n            return 404;" in text
    nginx_binary = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx_binary, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_supervisor_configuration_restarts_backs_off_and_stops_whole_groups(tmp_path):
    from configparser import RawConfigParser

    programs = [Program(name="rasa-1", label="Rasa", argv=["/bin/true"], log=tmp_path / "r.log",
                        env={"SECRET": 'pa"ss,word%'}, startsecs=10, priority=200),
                Program(name="actions", label="actions", argv=["/bin/true"], log=tmp_path / "a.log", priority=100)]
    supervisor = SupervisorConfig(tmp_path, programs)
    supervisor.write()
    config = RawConfigParser()
    config.read(supervisor.conf)
    rasa = config["program:rasa-1"]
    assert (rasa["autorestart"], rasa["startsecs"], rasa["startretries"]) == ("true", "10", "5")
    assert rasa["stopasgroup"] == rasa["killasgroup"] == "true"
    assert config["eventlistener:reaper"]["events"] == "PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF"
    assert config["unix_http_server"]["chmod"] == "0700"
    # a value supervisor could not quote is in the program's own 0600 file, not in the configuration
    assert "pa\"ss" not in supervisor.conf.read_text()
    env_file = supervisor.env_file(programs[0])
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert '"SECRET": "pa\\"ss,word%"' in env_file.read_text()
    assert [s for s in config.sections() if s.startswith("program:")] == ["program:actions", "program:rasa-1"]


def test_the_scale_out_endpoints_keep_a_password_quoted(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "PG_PASSWORD", "we:ird #pass")
    endpoints = yaml.safe_load(scale.scale_endpoints(tmp_path / "e.yml", "atomic", "xiaoanatomic").read_text())
    assert endpoints["tracker_store"]["password"] == "we:ird #pass"
    assert oct((tmp_path / "e.yml").stat().st_mode & 0o777) == "0o600"


def _until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def start_slow_to_stop(work: Path):
    """supervisord running a program that ignores its stop signal: its shutdown takes `stopwaitsecs` (4 s),
    then it SIGKILLs the program."""
    slow = Program(name="slow", label="slow", argv=["/usr/bin/nohup", "/bin/sleep", "600"], log=work / "slow.log",
                   startsecs=0, stopsignal="HUP", stopwaitsecs=4)  # nohup: sleep ignores SIGHUP
    supervisor = Supervisor(work, [slow]).start()
    supervisor.wait_ready(timeout=20)
    # only once nohup has become sleep is SIGHUP ignored
    assert _until(lambda: Path(f"/proc/{supervisor.pid('slow')}/comm").read_text().strip() == "sleep", 10)
    return supervisor


def _new_supervisor_works(new) -> None:
    assert new.answering(), "the new supervisord lost its socket"
    assert set(new.infos()) == {"sleeper", "reaper"}
    assert new.pidfile.read_text().strip() == str(new.process.pid)


def test_a_start_right_after_a_stop_keeps_the_new_supervisors_socket(tmp_path):
    """`make run` stopped and started again at once: the old supervisord's exit must not take the new one's socket."""
    old = start_slow_to_stop(tmp_path)
    stopping = threading.Thread(target=old.stop)
    stopping.start()
    assert _until(lambda: not old.answering(), 10), "the old supervisord did not begin its shutdown"
    new = Supervisor(tmp_path, [Program(name="sleeper", label="sleeper", argv=["/bin/sleep", "600"],
                                        log=tmp_path / "sleeper.log", startsecs=0)])
    try:
        new.start()
        stopping.join(60)
        _new_supervisor_works(new)
    finally:
        stopping.join(60)
        assert new.stop() == []
    assert not old.left_running()


def test_a_start_after_the_owner_was_killed_waits_for_its_supervisord_to_finish(tmp_path):
    """The command that ran supervisord died (SIGKILL): its supervisord stops by itself (parent-death signal);
    a new start waits for that before it makes its own socket."""
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from tests.test_ops import start_slow_to_stop; "
         "start_slow_to_stop(Path(sys.argv[1])); print('up', flush=True); "
         "time.sleep(600)", str(tmp_path)],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert owner.stdout.readline().strip() == "up"
        orphan = int((tmp_path / "supervisord.pid").read_text())
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        new = Supervisor(tmp_path, [Program(name="sleeper", label="sleeper", argv=["/bin/sleep", "600"],
                                            log=tmp_path / "sleeper.log", startsecs=0)])
        try:
            new.start()
            assert _until(lambda: not Path(f"/proc/{orphan}").exists(), 30), "the orphaned supervisord lives on"
            _new_supervisor_works(new)
        finally:
            assert new.stop() == []
    finally:
        if owner.poll() is None:
            os.killpg(owner.pid, signal.SIGKILL)


def test_a_second_start_in_a_running_folder_is_refused_and_stops_nothing(tmp_path):
    """A second `make run` beside a running one says so; its clean-up must not stop the first one."""
    def sleeper() -> Program:
        return Program(name="sleeper", label="sleeper", argv=["/bin/sleep", "600"], log=tmp_path / "sleeper.log",
                       startsecs=0)

    running = Supervisor(tmp_path, [sleeper()]).start()
    try:
        second = Supervisor(tmp_path, [sleeper()])
        with pytest.raises(ServiceError, match="already running"):
            second.start()
        assert second.stop() == []
        _new_supervisor_works(running)
    finally:
        assert running.stop() == []


def test_make_run_always_gives_the_http_api_a_token_in_a_private_file(tmp_path, monkeypatch):
    """Attack: with make run, Rasa's HTTP API read any conversation and wrote events without a token (loopback is
    reachable by any local process and by a DNS-rebinding page). Now a token is always set, never on a command line."""
    from ops.local import LocalSet

    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("XIAOAN_RUN_DIR", str(tmp_path))
    first = LocalSet()
    programs = {p.name: p for p in first.programs()}
    token_file = Path(programs["rasa"].env["XIAOAN_AUTH_TOKEN_FILE"])
    token = token_file.read_text(encoding="utf-8").strip()
    assert len(token) >= 24 and token_file.stat().st_mode & 0o777 == 0o600
    assert programs["console"].env["XIAOAN_AUTH_TOKEN_FILE"] == str(token_file)  # the staff route's bearer
    assert all(token not in " ".join(p.argv) for p in programs.values())
    again = LocalSet()
    again.programs()
    assert again.token == token  # the same token for the next run: scripts keep working
    monkeypatch.setenv("RASA_AUTH_TOKEN", "deployment-token-0123456789")
    chosen = LocalSet()
    chosen.programs()
    assert Path(token_file).read_text(encoding="utf-8").strip() == "deployment-token-0123456789"


def test_what_the_processes_write_is_the_users_only(tmp_path):
    """Attack: var/*.db (conversations, tickets, staff accounts) were world-readable; every supervised process now
    runs with umask 077, so another user of the machine reads none of it."""
    from ops.supervisor_config import Program, SupervisorConfig

    program = Program(name="demo", label="demo", argv=["sleep", "1"], log=tmp_path / "demo.log")
    text = SupervisorConfig(tmp_path, [program], name="t").render()
    supervisord, _, programs = text.partition("[program:demo]")
    assert "umask=077" in supervisord.split("[supervisord]")[1] and "umask=077" in programs
def test_no_fixed_wechat_token_in_make_run_or_make_scale(tmp_path, monkeypatch):
    """Issue 19: without WECHAT_TOKEN each run makes its own random token (in a 0600 file of its folder);
    a deployment's own token is used as given. No token is ever a constant of the code."""
    from ops import local

    monkeypatch.delenv("WECHAT_TOKEN", raising=False)
    monkeypatch.delenv("XIAOAN_WECHAT_REDIS_URL", raising=False)
    monkeypatch.setenv("XIAOAN_IDENTITY_SECRET", "ops-test-identity-secret")
    monkeypatch.setenv("XIAOAN_RUN_DIR", str(tmp_path / "run"))
    assert not hasattr(local, "LIVE_TEST_WECHAT_TOKEN")

    def rasa_env(servers):
        return next(p for p in servers.programs() if p.name == "rasa").env

    tokens = [rasa_env(local.LocalSet()) for _ in range(2)]
    assert all(len(env["WECHAT_TOKEN"]) >= 32 for env in tokens)
    assert tokens[0]["WECHAT_TOKEN"] != tokens[1]["WECHAT_TOKEN"]
    token_file = tmp_path / "run" / "supervisor" / "wechat_token"
    assert token_file.read_text(encoding="utf-8") == tokens[1]["WECHAT_TOKEN"]
    assert token_file.stat().st_mode & 0o777 == 0o600

    stacks = [scale.ScaleStack(work=tmp_path / name) for name in ("a", "b")]
    assert stacks[0].wechat_token != stacks[1].wechat_token and len(stacks[0].wechat_token) >= 32
    programs = stacks[0].programs("xiaoanatomic")
    servers = [p for p in programs if p.name.startswith("rasa-")]
    assert len(servers) == 2
    assert {p.env["WECHAT_TOKEN"] for p in servers} == {stacks[0].wechat_token}
    # both servers remember WeChat nonces in the same Redis (a replay to the other server is refused)
    assert len({p.env["XIAOAN_WECHAT_REDIS_URL"] for p in servers}) == 1
    # one rate per sender and address across both servers (and the hand-over's on the action server),
    # the address being the client nginx names
    actions = next(p for p in programs if p.name == "actions")
    assert len({p.env["XIAOAN_RATE_REDIS_URL"] for p in [*servers, actions]}) == 1
    assert {p.env["XIAOAN_TRUSTED_PROXY"] for p in servers} == {"127.0.0.1"}
    scale_file = tmp_path / "a" / "wechat_token"
    assert scale_file.read_text(encoding="utf-8") == stacks[0].wechat_token
    assert scale_file.stat().st_mode & 0o777 == 0o600

    monkeypatch.setenv("WECHAT_TOKEN", "the-banks-own-token")
    assert rasa_env(local.LocalSet())["WECHAT_TOKEN"] == "the-banks-own-token"
    assert scale.ScaleStack(work=tmp_path / "c").wechat_token == "the-banks-own-token"
