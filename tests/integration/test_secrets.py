"""No secret reaches a log line, a report, an export, a journal or an error message.

A whole Genesys run at DEBUG level, with a recognisable client secret and a
short token lifetime so that several tokens are issued; then every file the
run wrote and every log line are searched for the secret, its Basic
authorization form and every token the simulator issued.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.exit_codes import ExitCode
from scim_tui.headless import HeadlessJob, run_job
from scim_tui.logging_setup import configure, register_secret
from scim_tui.simulator.config import Profile, SimulatorConfig
from scim_tui.simulator.server import SimulatorServer

CANARY_SECRET = "CanarySecret-7f3a9c1e-do-not-log"
CLIENT_ID = "canary-client"


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def leaked(haystack: bytes, needles: list[str]) -> list[str]:
    return [needle for needle in needles if needle.encode() in haystack]


async def test_no_secret_in_logs_or_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIM_TUI_LOG_LEVEL", "DEBUG")
    log_stream = io.StringIO()
    handler = configure(stream=log_stream)
    output = io.StringIO()

    users = ["userName,displayName"] + [f"agent{index}@example.com,Agent {index}" for index in range(300)]
    (tmp_path / "users.csv").write_text("\n".join(users) + "\n", encoding="utf-8")
    config = SimulatorConfig(
        profile=Profile.GENESYS, client_id=CLIENT_ID, client_secret=CANARY_SECRET,
        token_lifetime=1.0, rate_limit_per_minute=100_000, latency_ms=(20.0, 40.0),
    )
    try:
        with SimulatorServer(config) as server:
            environ = {
                "GENESYS_API_URL": server.base_url,
                "GENESYS_LOGIN_URL": server.login_url,
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CANARY_SECRET,
            }
            job = HeadlessJob(
                input_path=tmp_path / "users.csv",
                target_spec=TargetSpec(kind="genesys", read_env_file=False, environ=environ),
                settings=RunSettings(concurrency=4),
                report_dir=tmp_path / "report",
            )
            code = await run_job(job, stream=output)
            tokens = list(server.app.tokens)
    finally:
        logging.getLogger().removeHandler(handler)

    assert code == ExitCode.OK
    assert len(tokens) >= 2
    basic = base64.b64encode(f"{CLIENT_ID}:{CANARY_SECRET}".encode()).decode()
    needles = [CANARY_SECRET, basic, *tokens]

    written = files_under(tmp_path / "report")
    assert any(path.name == "report.json" for path in written)
    for path in written:
        assert leaked(path.read_bytes(), needles) == [], path
    assert leaked(log_stream.getvalue().encode(), needles) == []
    assert leaked(output.getvalue().encode(), needles) == []
    assert "DEBUG" in log_stream.getvalue()


async def test_rejected_secret_error_does_not_show_it(tmp_path):
    (tmp_path / "users.csv").write_text("userName,displayName\na@example.com,A\n", encoding="utf-8")
    output = io.StringIO()
    with SimulatorServer(SimulatorConfig(profile=Profile.GENESYS, client_id=CLIENT_ID, client_secret="the-real-one")) as server:
        environ = {
            "GENESYS_API_URL": server.base_url,
            "GENESYS_LOGIN_URL": server.login_url,
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CANARY_SECRET,
        }
        job = HeadlessJob(
            input_path=tmp_path / "users.csv",
            target_spec=TargetSpec(kind="genesys", read_env_file=False, environ=environ),
            settings=RunSettings(concurrency=1),
            report_dir=tmp_path / "report",
        )
        code = await run_job(job, stream=output)

    assert code == ExitCode.TARGET_ERROR
    assert CANARY_SECRET not in output.getvalue()
    assert "GENESYS_CLIENT_SECRET" in output.getvalue()


def test_registered_secret_is_redacted():
    register_secret("another-canary-value")
    stream = io.StringIO()
    handler = configure(default_level="DEBUG", stream=stream)
    try:
        logging.getLogger("scim_tui.test").debug("token is %s", "another-canary-value")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "another-canary-value" not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()
