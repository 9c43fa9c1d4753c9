"""One HTTP exchange with the target: build the shared client, send, read a capped body, classify failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import email.utils
import functools
import http.cookiejar

import httpx

from scim_tui.engine.settings import RunSettings

SCIM_CONTENT_TYPE = "application/scim+json"
ACCEPT = "application/scim+json, application/json;q=0.9"


class ResponseTooLarge(Exception):
    pass


@dataclass(slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    """Response headers by lower-case name; a plain dict, since httpx.Headers decodes and scans on every lookup."""
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        kind = self.content_type
        return kind.endswith("/json") or kind.endswith("+json") or (not kind and self.body[:1] in (b"{", b"["))

    def server_time(self) -> float | None:
        """Return the response's ``Date`` header as an epoch timestamp, or None."""
        value = self.headers.get("date")
        if not value:
            return None
        return _parse_date(value)


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing.

    SCIM is stateless and authenticated by header. Ignoring Set-Cookie keeps a
    server's session cookie out of later requests, and saves httpx's cookie
    parsing on every response (about 5 % of the client's CPU per request,
    measured in bench/bench_overhead.py).
    """

    def extract_cookies(self, response, request) -> None:
        return None

    def set_cookie(self, cookie) -> None:
        return None


@functools.lru_cache(maxsize=4)
def _parse_date(value: str) -> float | None:
    """Parse an HTTP Date header; cached because a second's worth of responses carry the same value."""
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def build_client(settings: RunSettings, *, verify: bool = True, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """Create the one client a run shares, sized for the concurrency ceiling.

    ``trust_env`` stays on so the standard proxy variables are honoured.
    """
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.write_timeout,
        pool=settings.pool_timeout,
    )
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        verify=verify,
        follow_redirects=False,
        transport=transport,
        headers={"Accept": ACCEPT, "User-Agent": "scim-tui"},
        cookies=_NoCookies(),
    )


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    headers: dict[str, str],
    content: bytes | None = None,
    params: dict[str, str] | None = None,
    max_bytes: int,
) -> Reply:
    """Send one request and read at most ``max_bytes`` of the response.

    Raises ``httpx`` errors for transport failures and :class:`ResponseTooLarge`
    when the server sends more than the cap.
    """
    if content is not None:
        headers = {**headers, "Content-Type": SCIM_CONTENT_TYPE}
    request = client.build_request(method, url, headers=headers, content=content, params=params)
    # Straight to the transport that AsyncClient.send would pick (the same proxy
    # and mount choice), past its auth, redirect, cookie and event-hook layers,
    # none of which a run uses. That halves the client's CPU per request
    # (bench/bench_overhead.py). _transport_for_url is private httpx API, pinned
    # by the httpx<1 requirement and covered by the proxy and transport tests.
    transport = client._transport_for_url(request.url)
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the {max_bytes}-byte cap")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"response exceeds the {max_bytes}-byte cap")
    finally:
        await response.aclose()
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers.raw}
    return Reply(response.status_code, headers, bytes(body))


def never_reached_server(error: httpx.HTTPError) -> bool:
    """Whether a transport error happened before the request could reach the server.

    After these errors nothing can have been stored, so a create can be sent
    again without looking the user up first.
    """
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def describe_transport_error(error: Exception) -> str:
    kind = type(error).__name__
    text = str(error).strip()
    return f"{kind}: {text}" if text else kind
