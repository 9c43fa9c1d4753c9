"""Transport settings: proxies from the environment, TLS verification, timeouts, plain http only on loopback."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest

from scim_tui.config import ConfigError, require_secure_url
from scim_tui.engine.discovery import discover
from scim_tui.engine.settings import RunSettings
from scim_tui.engine.transport import build_client
from scim_tui.targets.generic import GenericTarget

CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "bulk": {"supported": True, "maxOperations": 7, "maxPayloadSize": 1000},
}


async def start_forward_proxy(seen: list[str]) -> asyncio.AbstractServer:
    """A forward proxy on 127.0.0.1 that answers every request itself and records its request line."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0].decode())
        body = json.dumps(CONFIG if "ServiceProviderConfig" in seen[-1] else {"Resources": []}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_proxy_from_environment_is_used(monkeypatch):
    seen: list[str] = []
    proxy = await start_forward_proxy(seen)
    port = proxy.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")

    # The .invalid name never resolves: the only way to an answer is through the proxy.
    target = GenericTarget("http://scim.invalid/scim/v2")
    try:
        async with build_client(RunSettings()) as client:
            capabilities = await discover(client, target)
    finally:
        proxy.close()
        await proxy.wait_closed()

    assert seen[0] == "GET http://scim.invalid/scim/v2/ServiceProviderConfig HTTP/1.1"
    assert capabilities.bulk_supported is True
    assert capabilities.max_operations == 7


async def test_client_verifies_tls_and_has_timeouts():
    settings = RunSettings(connect_timeout=3, read_timeout=4, write_timeout=5, pool_timeout=6)
    async with build_client(settings) as client:
        context = client._transport._pool._ssl_context  # httpx exposes no public accessor
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert client.timeout.connect == 3
        assert client.timeout.read == 4
        assert client.timeout.write == 5
        assert client.timeout.pool == 6


@pytest.mark.parametrize("url", ["http://127.0.0.1:8700/scim", "http://localhost/scim", "http://[::1]:80/scim", "http://127.2.3.4/x"])
def test_plain_http_allowed_on_loopback(url):
    assert require_secure_url(url, name="--url") == url


def test_plain_http_rejected_elsewhere():
    with pytest.raises(ConfigError, match="--insecure-http"):
        require_secure_url("http://scim.example.com/scim/v2", name="--url")
    assert require_secure_url("http://scim.example.com/scim/v2", name="--url", allow_insecure_http=True)


def test_cli_rejects_plain_http_before_connecting(tmp_path, capsys):
    from scim_tui.cli import main

    (tmp_path / "users.csv").write_text("userName,displayName\na@example.com,A\n", encoding="utf-8")
    code = main(["run", str(tmp_path / "users.csv"), "--headless", "--url", "http://scim.invalid/scim/v2", "--report-dir", str(tmp_path / "r")])

    assert code == 2
    assert "--insecure-http" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
