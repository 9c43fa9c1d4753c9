"""The ``scim-tui`` command used as a new operator would: signals, bad settings, reruns, odd servers.

Every test drives the real command in a child process against a server on
127.0.0.1 that the test starts itself. That server is the Genesys-like
simulator, or a small canned SCIM server for responses the simulator does not
send (403 on every create, an error detail with terminal escape sequences).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import uvicorn

from scim_tui.exit_codes import ExitCode
from tests.integration.test_resume_support import (
    PROJECT_ROOT,
    cli_environment,
    read_report,
    run_cli,
    simulator,
    start_cli,
    target_arguments,
    wait_for,
    write_input,
)

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Long enough for a small run on a loaded two-core machine, short enough that a
# run which stalls fails the test instead of the suite's timeout.
CLI_TIMEOUT = 15.0


# ------------------------------------------------------------------ helpers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CannedScimServer:
    """A SCIM server on 127.0.0.1 that returns one fixed status and body for every create.

    Discovery succeeds (no Bulk, filtering supported) and every lookup returns
    an empty list, so the client reaches the create requests and receives only
    the canned response.
    """

    def __init__(self, create_status: int, create_body: dict) -> None:
        self.create_status = create_status
        self.create_body = create_body
        self.creates = 0
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/scim/v2"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)

        path = scope["path"].rstrip("/")
        if scope["method"] == "POST":
            self.creates += 1
            status, document = self.create_status, self.create_body
        elif path.endswith("/ServiceProviderConfig"):
            status = 200
            document = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "bulk": {"supported": False},
                "filter": {"supported": True, "maxResults": 100},
                "patch": {"supported": True},
            }
        else:
            status = 200
            document = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []}

        body = json.dumps(document).encode()
        headers = [(b"content-type", b"application/scim+json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def __enter__(self) -> CannedScimServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the canned SCIM server did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def forbidden_server() -> CannedScimServer:
    detail = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403", "detail": "missing permission directory:user:add"}
    return CannedScimServer(403, detail)


def generic_environment() -> dict[str, str]:
    """Return the environment of a CLI child that targets a server by --url, without a token."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GENESYS_", "SCIM_TOKEN", "SCIM_TUI_"))
    }
    environment.update({"SCIM_TUI_LOG_LEVEL": "WARNING", "PYTHONPATH": str(PROJECT_ROOT)})
    return environment


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def posts_per_user(server) -> dict[str, int]:
    return {name: entry.posts for name, entry in server.stats(include_timeline=False).user_posts.items()}


def journal_user_states(path: Path) -> dict[str, str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {name.lower(): state for name, state in connection.execute("SELECT user_name, state FROM users")}
    finally:
        connection.close()


# ------------------------------------------------------------ configuration


def test_log_level_warn_hides_info(tmp_path):
    source = write_input(tmp_path / "users.csv", 5)
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=0) as server:
        environment = cli_environment(server)
        environment["SCIM_TUI_LOG_LEVEL"] = "WARN"
        code = run_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(tmp_path / "report")],
            environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.OK, text[-2000:]
    assert " INFO " not in text


def test_log_level_from_env_file(tmp_path):
    source = write_input(tmp_path / "users.csv", 5)
    output = tmp_path / "cli.log"
    (tmp_path / ".env").write_text("SCIM_TUI_LOG_LEVEL=ERROR\n", encoding="utf-8")

    with simulator("genesys", rate_limit_per_minute=0) as server:
        environment = cli_environment(server)
        environment.pop("SCIM_TUI_LOG_LEVEL")
        code = run_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(tmp_path / "report")],
            environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.OK, text[-2000:]
    assert " INFO " not in text


def test_bad_file_reported_before_connecting(tmp_path):
    empty = tmp_path / "users.csv"
    empty.write_bytes(b"")
    output = tmp_path / "cli.log"
    closed_url = f"http://127.0.0.1:{_free_port()}/scim/v2"

    code = run_cli(
        ["run", str(empty), "--headless", "--url", closed_url, "--report-dir", str(tmp_path / "report")],
        environment=generic_environment(), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
    )

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.USAGE, text[-2000:]
    assert "empty" in text


def test_existing_report_refused_before_sending(tmp_path):
    source = write_input(tmp_path / "users.csv", 10)
    output = tmp_path / "cli.log"
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "report.json").write_text("{}\n", encoding="utf-8")

    with simulator("genesys", rate_limit_per_minute=0) as server:
        code = run_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(report_dir),
             "--journal", str(tmp_path / "elsewhere.sqlite")],
            environment=cli_environment(server), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        posts = posts_per_user(server)

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.USAGE, text[-2000:]
    assert posts == {}


# ------------------------------------------------------------------ signals


def hold_run_in_flight(server, timeout: float = CLI_TIMEOUT) -> None:
    """Wait until the run sends its first create, then hold its next requests at the simulator's gate.

    The gate closes only after a create arrived, because a gate closed from
    the start would hold discovery, before the CLI writes its journal and
    installs its signal handlers.
    """
    assert wait_for(lambda: len(posts_per_user(server)) >= 1, timeout=timeout), "the run sent no create"
    server.gate()
    server.wait_until_held(1, timeout=timeout)


def start_gated_run(tmp_path: Path, server, report_dir: Path, output: Path) -> subprocess.Popen:
    """Start a headless run and return once one of its requests is held at the simulator's gate."""
    source = write_input(tmp_path / "users.csv", 20)
    process = start_cli(
        ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(report_dir)],
        environment=cli_environment(server), cwd=tmp_path, log=output,
    )
    try:
        hold_run_in_flight(server)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def test_second_sigterm_keeps_report(tmp_path):
    report_dir = tmp_path / "report"
    output = tmp_path / "cli.log"

    # One request a second, so that the run is still sending when the gate closes.
    with simulator("genesys", rate_limit_per_minute=60) as server:
        process = start_gated_run(tmp_path, server, report_dir, output)
        try:
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            server.release()
            code = process.wait(CLI_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.INTERRUPTED, text[-2000:]
    assert (report_dir / "report.json").is_file(), text[-2000:]


def test_sigterm_named_in_stop_reason(tmp_path):
    report_dir = tmp_path / "report"
    output = tmp_path / "cli.log"

    # One request a second, so that the run is still sending when the gate closes.
    with simulator("genesys", rate_limit_per_minute=60) as server:
        process = start_gated_run(tmp_path, server, report_dir, output)
        try:
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            server.release()
            code = process.wait(CLI_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.INTERRUPTED, text[-2000:]
    stop_reason = read_report(report_dir)["run"]["stop_reason"]
    assert "SIGTERM" in stop_reason


def test_interrupted_unsent_users_not_sending(tmp_path):
    source = write_input(tmp_path / "users.csv", 30)
    report_dir = tmp_path / "report"
    journal = report_dir / "journal.sqlite"
    output = tmp_path / "cli.log"

    # One request a second, so that most workers wait for their turn when the signal comes.
    with simulator("genesys", rate_limit_per_minute=60) as server:
        process = start_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(report_dir)],
            environment=cli_environment(server), cwd=tmp_path, log=output,
        )
        try:
            reached = wait_for(lambda: len(posts_per_user(server)) >= 3, timeout=CLI_TIMEOUT)
            process.send_signal(signal.SIGINT)
            code = process.wait(CLI_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        posted = set(posts_per_user(server))

    text = output.read_text(encoding="utf-8", errors="replace")
    assert reached, text[-2000:]
    assert code == ExitCode.INTERRUPTED, text[-2000:]
    sending = {name for name, state in journal_user_states(journal).items() if state == "sending"}
    assert sending <= posted, f"in 'sending' but never posted: {sorted(sending - posted)}"


# -------------------------------------------------------- resume and rerun


def test_rerun_report_from_other_directory(tmp_path):
    first_dir = tmp_path / "first"
    other_dir = tmp_path / "other"
    first_dir.mkdir()
    other_dir.mkdir()
    source = write_input(first_dir / "users.csv", 5)
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=0, p503_before=1.0) as server:
        environment = cli_environment(server)
        first_code = run_cli(
            ["run", "users.csv", "--headless", *target_arguments(server), "--report-dir", "report", "--max-attempts", "1"],
            environment=environment, cwd=first_dir, log=output, timeout=CLI_TIMEOUT,
        )
        server.configure(p503_before=0.0)
        code = run_cli(
            ["rerun", str(first_dir / "report" / "report.json"), "--headless", "--report-dir", str(tmp_path / "rerun")],
            environment=environment, cwd=other_dir, log=output, timeout=CLI_TIMEOUT,
        )
        stored = sorted(user["userName"].lower() for user in server.users())

    text = output.read_text(encoding="utf-8", errors="replace")
    assert first_code == ExitCode.USERS_FAILED, text[-2000:]
    assert code == ExitCode.OK, text[-2000:]
    assert stored == sorted(source.valid)


def test_rerun_honours_encoding(tmp_path):
    source = write_csv(
        tmp_path / "users.csv",
        ["userName,displayName", "jérôme.dupont@example.com,Jérôme Dupont", "zoë.martin@example.com,Zoë Martin"],
        encoding="latin-1",
    )
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=0, p503_before=1.0) as server:
        environment = cli_environment(server)
        first_code = run_cli(
            ["run", str(source), "--encoding", "latin-1", "--headless", *target_arguments(server),
             "--report-dir", str(tmp_path / "first"), "--max-attempts", "1"],
            environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        server.configure(p503_before=0.0)
        code = run_cli(
            ["rerun", str(tmp_path / "first" / "report.json"), "--encoding", "latin-1", "--headless",
             "--report-dir", str(tmp_path / "rerun")],
            environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        stored = sorted(user["userName"] for user in server.users())

    text = output.read_text(encoding="utf-8", errors="replace")
    assert first_code == ExitCode.USERS_FAILED, text[-2000:]
    assert code == ExitCode.OK, text[-2000:]
    assert stored == ["jérôme.dupont@example.com", "zoë.martin@example.com"]


def test_rerun_then_resume_posts_once(tmp_path):
    source = write_input(tmp_path / "users.csv", 30)
    report_dir = tmp_path / "report"
    journal = report_dir / "journal.sqlite"
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=60) as server:
        environment = cli_environment(server)
        process = start_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(report_dir)],
            environment=environment, cwd=tmp_path, log=output,
        )
        try:
            hold_run_in_flight(server)
        finally:
            process.kill()
            process.wait()
        server.configure(rate_limit_per_minute=0)
        server.release()

        rerun_code = run_cli(
            ["rerun", str(journal), "--headless", "--report-dir", str(tmp_path / "rerun")],
            environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        resume_code = run_cli(
            ["resume", str(journal), "--headless"], environment=environment, cwd=tmp_path, log=output, timeout=CLI_TIMEOUT
        )
        posts = posts_per_user(server)

    text = output.read_text(encoding="utf-8", errors="replace")
    # A journal with unfinished users is resumed, not rerun: the rerun is rejected before anything is sent.
    assert rerun_code == ExitCode.USAGE, text[-2000:]
    assert "scim-tui resume" in text
    assert resume_code == ExitCode.OK, text[-2000:]
    posted_twice = sorted(name for name, count in posts.items() if count > 1)
    assert posted_twice == []


# ------------------------------------------------------ server responses


def test_permission_stop_exit_code(tmp_path):
    lines = ["userName,displayName"] + [f"agent{index}@example.com,Agent {index}" for index in range(12)]
    source = write_csv(tmp_path / "users.csv", lines)
    output = tmp_path / "cli.log"

    with forbidden_server() as server:
        code = run_cli(
            ["run", str(source), "--headless", "--url", server.url, "--report-dir", str(tmp_path / "report")],
            environment=generic_environment(), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )

    text = output.read_text(encoding="utf-8", errors="replace")
    assert "403" in text
    assert code != ExitCode.INTERRUPTED
    assert code in (ExitCode.USERS_FAILED, ExitCode.TARGET_ERROR)


def test_server_detail_escapes_not_printed(tmp_path):
    detail = "\x1b]0;retitled\x07\x1b[2J\x1b[31mred\x1b[0m"
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": detail}
    source = write_csv(tmp_path / "users.csv", ["userName,displayName", "ann.lee@example.com,Ann Lee"])
    output = tmp_path / "cli.log"

    with CannedScimServer(400, error) as server:
        code = run_cli(
            ["run", str(source), "--headless", "--url", server.url, "--report-dir", str(tmp_path / "report")],
            environment=generic_environment(), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        creates = server.creates

    printed = output.read_bytes()
    assert creates == 1
    assert code == ExitCode.USERS_FAILED, printed[-2000:]
    assert b"\x1b" not in printed


def test_manager_by_id_is_accepted(tmp_path):
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=0, preload_count=1) as server:
        boss_id = server.users()[0]["id"]
        source = write_csv(tmp_path / "users.csv", ["userName,displayName,manager", f"worker@example.com,Worker,{boss_id}"])
        code = run_cli(
            ["run", str(source), "--headless", *target_arguments(server), "--report-dir", str(tmp_path / "report")],
            environment=cli_environment(server), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        workers = [user for user in server.users() if user["userName"] == "worker@example.com"]

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.OK, text[-2000:]
    assert len(workers) == 1
    assert workers[0][ENTERPRISE_USER]["manager"]["value"] == boss_id


def test_oversized_bulk_user_sent_alone(tmp_path):
    source = write_input(tmp_path / "users.csv", 3)
    output = tmp_path / "cli.log"

    # Smaller than one user's Bulk request, so no Bulk request can carry any user.
    with simulator("generic", bulk_max_payload=150) as server:
        code = run_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(tmp_path / "report")],
            environment=cli_environment(server), cwd=tmp_path, log=output, timeout=CLI_TIMEOUT,
        )
        stored = sorted(user["userName"].lower() for user in server.users())

    text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.OK, text[-2000:]
    assert stored == sorted(source.valid)
