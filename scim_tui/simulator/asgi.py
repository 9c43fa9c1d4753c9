"""Small ASGI helpers shared by the SCIM, token and admin endpoints of the simulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

Scope = dict[str, Any]


class ClientDisconnected(Exception):
    """The client closed the connection before the request body was read."""


async def read_body(receive: Any, limit: int) -> bytes | None:
    """Read the whole request body; return None when it is longer than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        more = message.get("more_body", False)
    if size > limit:
        return None
    return b"".join(chunks)


async def send_json(send: Any, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    raw_headers = [(b"content-length", str(len(payload)).encode())]
    has_type = False
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if lowered == "content-length":
            continue
        has_type = has_type or lowered == "content-type"
        raw_headers.append((lowered.encode("latin-1"), value.encode("latin-1")))
    if body is not None and not has_type:
        raw_headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def close_connection(send: Any) -> bool:
    """Close the client's connection without a response; return False when the server does not allow it.

    ASGI has no message for this. Uvicorn's ``send`` is a bound method of
    its request cycle, which keeps a reference to the transport. Closing the
    transport and letting the loop run once marks the cycle disconnected, so
    uvicorn sends no 500 of its own. Checked with uvicorn 0.55 (h11 and
    httptools).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False

    transport.close()
    for _ in range(10):
        await asyncio.sleep(0)
        if getattr(cycle, "disconnected", True):
            break
    return True
