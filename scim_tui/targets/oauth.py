"""OAuth 2.0 client-credentials tokens, fetched once and shared by every request.

A provisioning run sends many requests at once, and all of them need the same
access token. When the token is missing, about to expire, or rejected by the
server, exactly one task fetches a new one while the others wait for it. An
``asyncio.Lock`` serialises the fetch, and each waiter checks the cache again
after it acquires the lock. A 401 invalidates the token only when the rejected token is
still the current one, so fifty requests that failed with the same stale token
cause one refresh, not fifty.

The token endpoint follows Genesys Cloud (``POST <login>/oauth/token`` with
HTTP Basic client authentication and ``grant_type=client_credentials``), which
is also RFC 6749 section 4.4. Neither the client secret nor a token is ever
logged or put into an exception message.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
import hmac
import logging
import math
import re
import time
from typing import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from scim_tui.targets.base import CredentialsRejected

logger = logging.getLogger(__name__)

RefreshListener = Callable[[str, float | None], None]
"""Called after each new token with the reason ("initial", "expiring" or "rejected") and expires_in."""

#: Refresh this fraction of the lifetime before the token expires, within the bounds below.
REFRESH_FRACTION = 0.10
MIN_REFRESH_MARGIN = 5.0
MAX_REFRESH_MARGIN = 300.0

#: Token requests per fetch when the endpoint fails transiently (network error, 408, 429, 5xx).
DEFAULT_MAX_ATTEMPTS = 3
RETRY_BASE_DELAY = 1.0
RETRY_MAX_DELAY = 30.0

# OAuth error codes (RFC 6749 section 5.2) that mean the client itself is rejected.
_CLIENT_REJECTED_ERRORS = {
    "invalid_client": "client id or secret rejected",
    "unauthorized_client": "the OAuth client is not allowed the client-credentials grant",
    "invalid_grant": "the client-credentials grant was rejected",
    "unsupported_grant_type": "the client-credentials grant is not supported for this client",
    "invalid_scope": "the requested scope was rejected",
}

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class TokenRequestFailed(Exception):
    """Failure of the token endpoint: it could not be reached or returned no usable token.

    ``retriable`` is True for network errors, timeouts, 408, 429 and 5xx,
    because a later attempt may succeed. ``retry_after`` is the wait in
    seconds from the server's Retry-After header, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retriable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retriable = retriable
        self.retry_after = retry_after


def refresh_margin(lifetime: float) -> float:
    """Return how many seconds before expiry a token of ``lifetime`` seconds is replaced.

    The margin is 10 % of the lifetime, at least 5 s and at most 5 minutes.
    It is never more than half the lifetime, so a token that lives only a few
    seconds is still reused instead of being fetched again for every request.
    """
    margin = min(max(lifetime * REFRESH_FRACTION, MIN_REFRESH_MARGIN), MAX_REFRESH_MARGIN)
    return min(margin, lifetime / 2)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """Return the bearer token in an ``Authorization`` header, or None when there is none."""
    for name, value in headers.items():
        if name.lower() != "authorization":
            continue
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


@dataclass(slots=True)
class _CachedToken:
    value: SecretStr
    expires_in: float | None
    refresh_at: float | None
    """Clock time after which the token is replaced, or None when the server sent no lifetime."""
    expires_at: float | None


class ClientCredentialsAuth:
    """Fetch, cache and refresh an OAuth access token with the client-credentials grant.

    ``clock`` returns seconds on a monotonic scale and ``sleep`` waits between
    retries of the token request; tests replace both. ``on_refresh`` is called
    after every new token with the reason and the lifetime in seconds.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        on_refresh: RefreshListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if not client_id.strip():
            raise ValueError("the OAuth client id is empty")
        if ":" in client_id:
            # HTTP Basic authentication (RFC 7617) cannot carry a colon in the user id.
            raise ValueError("the OAuth client id must not contain ':'")
        if not client_secret.get_secret_value():
            raise ValueError("the OAuth client secret is empty")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")

        self._token_url = token_url
        self._login_host = urlsplit(token_url).netloc or token_url
        self._client_id = client_id.strip()
        self._client_secret = client_secret
        self._basic = SecretStr(
            base64.b64encode(f"{self._client_id}:{client_secret.get_secret_value()}".encode()).decode("ascii")
        )
        self.on_refresh = on_refresh
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts

        self._lock = asyncio.Lock()
        self._token: _CachedToken | None = None
        self._rejected = False
        self._fetches_finished = 0
        self._last_failure: CredentialsRejected | TokenRequestFailed | None = None
        self.refresh_count = 0
        """Number of tokens fetched so far."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self._token_url!r}, client_id={self._client_id!r})"

    @property
    def token_url(self) -> str:
        return self._token_url

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def login_host(self) -> str:
        return self._login_host

    def expires_in(self) -> float | None:
        """Return the seconds until the current token expires, or None when unknown or there is no token."""
        token = self._token
        if token is None or token.expires_at is None:
            return None
        return max(0.0, token.expires_at - self._clock())

    async def access_token(self, client: httpx.AsyncClient) -> SecretStr:
        """Return a token that is not about to expire, fetching one if needed.

        Concurrent callers share one fetch, and they share its failure too:
        a caller that waited for a failed fetch raises the same error instead
        of sending another request. Raises CredentialsRejected when the token
        endpoint rejects the client, and TokenRequestFailed when it cannot
        be reached or returns no usable token.
        """
        token = self._usable_token()
        if token is not None:
            return token

        fetches_seen = self._fetches_finished
        async with self._lock:
            token = self._usable_token()
            if token is not None:
                return token
            if self._fetches_finished != fetches_seen and self._last_failure is not None:
                raise _copy_failure(self._last_failure)

            # Cleared first, so waiters of a cancelled fetch try again instead of raising an older failure.
            self._last_failure = None
            try:
                return await self._fetch(client)
            except (CredentialsRejected, TokenRequestFailed) as exc:
                self._last_failure = exc
                raise
            finally:
                self._fetches_finished += 1

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """Return the ``Authorization`` header for one request."""
        token = await self.access_token(client)
        return {"Authorization": f"Bearer {token.get_secret_value()}"}

    def invalidate(self, rejected_token: str | SecretStr | None) -> bool:
        """Drop the current token if it is ``rejected_token``, so the next request fetches a new one.

        Returns True when the token was dropped. A token that has already been
        replaced is left alone, so every request that failed with the same
        stale token together cause a single refresh.
        """
        current = self._token
        if current is None or rejected_token is None:
            return False

        rejected = rejected_token.get_secret_value() if isinstance(rejected_token, SecretStr) else rejected_token
        if not hmac.compare_digest(current.value.get_secret_value().encode(), rejected.encode()):
            return False

        self._token = None
        self._rejected = True
        logger.info("access token rejected by the API (HTTP 401); fetching a new one from %s", self._login_host)
        return True

    def _usable_token(self) -> SecretStr | None:
        token = self._token
        if token is None:
            return None
        if token.refresh_at is not None and self._clock() >= token.refresh_at:
            return None
        return token.value

    async def _fetch(self, client: httpx.AsyncClient) -> SecretStr:
        if self._rejected:
            reason = "rejected"
        elif self.refresh_count == 0:
            reason = "initial"
        else:
            reason = "expiring"

        token = await self._request_with_retries(client)

        self._token = token
        self._rejected = False
        self.refresh_count += 1

        if token.expires_in is None:
            logger.info("token refreshed (%s), no expiry given by %s", reason, self._login_host)
        else:
            logger.info("token refreshed (%s), expires in %d s", reason, round(token.expires_in))
        self._notify(reason, token.expires_in)
        return token.value

    async def _request_with_retries(self, client: httpx.AsyncClient) -> _CachedToken:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._request_token(client)
            except TokenRequestFailed as exc:
                if not exc.retriable or attempt == self._max_attempts:
                    raise
                delay = exc.retry_after if exc.retry_after is not None else RETRY_BASE_DELAY * 2 ** (attempt - 1)
                delay = min(max(delay, 0.0), RETRY_MAX_DELAY)
                logger.warning(
                    "%s; retrying in %.1f s (attempt %d of %d)", exc, delay, attempt + 1, self._max_attempts
                )
                await self._sleep(delay)

        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _request_token(self, client: httpx.AsyncClient) -> _CachedToken:
        # The engine's client may carry SCIM defaults such as a JSON Content-Type,
        # so this request sets every header it depends on.
        headers = {
            "Authorization": f"Basic {self._basic.get_secret_value()}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        issued_at = self._clock()
        try:
            response = await client.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                headers=headers,
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            detail = self._redact(str(exc)) or "no detail"
            raise TokenRequestFailed(
                f"token request to {self._login_host} failed: {type(exc).__name__}: {detail}",
                retriable=True,
            ) from None

        if response.status_code == 200:
            return self._parse_token(response, issued_at)
        raise self._failure(response)

    def _parse_token(self, response: httpx.Response, issued_at: float) -> _CachedToken:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TokenRequestFailed(
                f"token endpoint {self._token_url} returned HTTP 200 without a JSON object "
                f"(Content-Type {response.headers.get('content-type', 'none')!r}); check GENESYS_LOGIN_URL",
                status=200,
            )

        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token.strip():
            raise TokenRequestFailed(f"token endpoint {self._token_url} returned no access_token", status=200)

        token_type = body.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            logger.warning(
                "token endpoint %s returned token_type %r; sending it as a bearer token", self._login_host, token_type
            )

        expires_in = _parse_expires_in(body.get("expires_in"))
        if expires_in is None and "expires_in" in body:
            raise TokenRequestFailed(
                f"token endpoint {self._token_url} returned an invalid expires_in: {str(body['expires_in'])[:40]!r}",
                status=200,
            )

        if expires_in is None:
            # Without a lifetime the token is kept until the server rejects it.
            return _CachedToken(SecretStr(access_token.strip()), None, None, None)
        return _CachedToken(
            SecretStr(access_token.strip()),
            expires_in,
            issued_at + expires_in - refresh_margin(expires_in),
            issued_at + expires_in,
        )

    def _failure(self, response: httpx.Response) -> CredentialsRejected | TokenRequestFailed:
        status = response.status_code
        error, description = self._error_fields(response)
        summary = f"HTTP {status}"
        if error:
            summary += f" {error}"
        if description and description != error:
            summary += f": {description}"

        if status == 401 or (status == 400 and error == "invalid_client"):
            return CredentialsRejected(
                f"client id or secret rejected by {self._login_host} ({summary}); "
                "check GENESYS_CLIENT_ID/GENESYS_CLIENT_SECRET"
            )
        if status == 403:
            return CredentialsRejected(
                f"OAuth client {self._client_id} rejected by {self._login_host} ({summary}); "
                "check that the client is active and uses the Client Credentials grant"
            )
        if status == 400 and error in _CLIENT_REJECTED_ERRORS:
            return CredentialsRejected(
                f"{_CLIENT_REJECTED_ERRORS[error]} by {self._login_host} ({summary}); "
                "check that the OAuth client uses the Client Credentials grant"
            )

        if status in (408, 429) or status >= 500:
            return TokenRequestFailed(
                f"token endpoint {self._login_host} returned {summary}",
                status=status,
                retriable=True,
                retry_after=_parse_retry_after(response.headers.get("retry-after")),
            )
        if 300 <= status < 400:
            return TokenRequestFailed(
                f"token endpoint {self._token_url} redirected (HTTP {status}) to "
                f"{response.headers.get('location', 'no location')!r}; check GENESYS_LOGIN_URL",
                status=status,
            )
        return TokenRequestFailed(
            f"token endpoint {self._token_url} returned {summary}; check GENESYS_LOGIN_URL",
            status=status,
        )

    def _error_fields(self, response: httpx.Response) -> tuple[str | None, str | None]:
        """Return the OAuth error code and a short, redacted description from an error response."""
        try:
            body = response.json()
        except ValueError:
            return None, None
        if not isinstance(body, dict):
            return None, None

        error = body.get("error") if isinstance(body.get("error"), str) else None
        if error is not None:
            error = _CONTROL_CHARACTERS.sub(" ", self._redact(error)).strip()[:60] or None
        description = None
        # RFC 6749 names the field error_description; other servers use description or message.
        for key in ("error_description", "description", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                description = value
                break
        if description is not None:
            description = _CONTROL_CHARACTERS.sub(" ", self._redact(description)).strip()[:200]
        return error, description or None

    def _redact(self, text: str) -> str:
        for secret in (self._client_secret.get_secret_value(), self._basic.get_secret_value()):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _notify(self, reason: str, expires_in: float | None) -> None:
        listener = self.on_refresh
        if listener is None:
            return
        try:
            listener(reason, expires_in)
        except Exception:
            # A faulty listener must not cost the run its fresh token.
            logger.warning("token refresh listener %r failed", listener, exc_info=True)


def _copy_failure(failure: CredentialsRejected | TokenRequestFailed) -> CredentialsRejected | TokenRequestFailed:
    """Return a fresh exception with the same message, so concurrent waiters do not share one traceback."""
    if isinstance(failure, TokenRequestFailed):
        return TokenRequestFailed(
            str(failure), status=failure.status, retriable=failure.retriable, retry_after=failure.retry_after
        )
    return CredentialsRejected(str(failure))


def _parse_expires_in(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _parse_retry_after(value: str | None) -> float | None:
    # Only the delta-seconds form is read; an HTTP date falls back to exponential backoff.
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
