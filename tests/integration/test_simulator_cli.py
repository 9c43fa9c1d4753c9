"""``scim-tui simulate`` as a process: banner, credentials, serving and ctrl+c."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from scim_tui.simulator.cli import build_parser, config_from_args, simulate_main


def read_banner(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press ctrl+c"):
            break
    return "".join(lines)


def value_after(label: str, banner: str) -> str:
    match = re.search(rf"^\s*{label}\s+(\S+)", banner, re.MULTILINE)
    assert match, f"{label!r} missing from banner:\n{banner}"
    return match.group(1)


REPOSITORY = Path(__file__).resolve().parents[2]

StartCli = Callable[..., tuple[subprocess.Popen[str], str]]


@pytest.fixture
def start_cli() -> Iterator[StartCli]:
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "scim_tui.simulator.cli", "--port", "0", "--log-level", "WARNING", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPOSITORY,
        )
        processes.append(process)
        return process, read_banner(process, time.monotonic() + 30)

    yield start

    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_genesys_cli_serves_and_stops_on_sigint(start_cli: StartCli) -> None:
    process, banner = start_cli("--preload", "3", "--preload-inactive", "1", "--seed", "5")
    base = value_after("base URL", banner)
    client_id = value_after("client id", banner)
    secret = value_after("secret", banner)

    token = httpx.post(base + "/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}, timeout=10)
    users = httpx.get(base + "/api/v2/scim/v2/users", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10)
    process.send_signal(signal.SIGINT)
    code = process.wait(30)

    assert base.startswith("http://127.0.0.1:")
    assert f"export GENESYS_API_URL={base}" in banner
    assert f"export GENESYS_LOGIN_URL={base}" in banner
    assert f"export GENESYS_CLIENT_ID={client_id}" in banner
    assert "export GENESYS_CLIENT_SECRET=" in banner
    assert value_after("fault seed", banner) == "5"
    assert token.status_code == 200
    assert users.json()["totalResults"] == 2
    assert code == 0


def test_generic_cli_prints_token(start_cli: StartCli) -> None:
    process, banner = start_cli("--profile", "generic", "--token", "cli-token")
    scim_url = value_after("SCIM URL", banner)

    response = httpx.get(scim_url + "/Users", headers={"Authorization": "Bearer cli-token"}, timeout=10)
    process.send_signal(signal.SIGINT)
    code = process.wait(30)

    assert "export SCIM_TOKEN=cli-token" in banner
    assert f"scim-tui run FILE --url {scim_url}" in banner
    assert response.status_code == 200
    assert code == 0


def test_invalid_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = simulate_main(["--preload", "1", "--preload-inactive", "2"])

    assert code == 2
    assert "preload_inactive" in capsys.readouterr().err


def test_taken_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from scim_tui.simulator.server import bind_socket

    taken = bind_socket(0)
    try:
        code = simulate_main(["--port", str(taken.getsockname()[1])])
    finally:
        taken.close()

    assert code == 1
    assert "--port 0" in capsys.readouterr().err


def test_options_map_to_config() -> None:
    args = build_parser().parse_args(
        ["--profile", "generic", "--no-auth", "--rate-limit", "10", "--latency-ms", "5-9", "--p503", "0.1",
         "--p500-after", "0.2", "--p-slow", "0.3", "--p-drop", "0.1", "--seed", "3", "--fault-scope", "all"]
    )

    config = config_from_args(args)

    assert config.bearer_token is None
    assert config.rate_limit_per_minute == 10
    assert config.latency_ms == (5.0, 9.0)
    assert (config.p503_before, config.p500_after, config.p_slow_after, config.p_drop) == (0.1, 0.2, 0.3, 0.1)
    assert config.seed == 3
    assert config.fault_scope == "all"


def test_bad_probability_is_rejected() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--p503", "1.5"])
