"""Partitioning valid users into batches.

In Bulk mode a batch is one Bulk request: at most ``batch_size`` operations
and, when the server states one, under ``bulk.maxPayloadSize`` bytes. In
per-user mode a batch is only a unit of progress on screen: its users are sent
one request each. Each user's payload is encoded once, here, and kept as bytes,
the most compact form that the submitter can send without re-encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import json
import zlib

from scim_tui.input.records import ValidUser

DEFAULT_PER_USER_BATCH = 50

# Bytes a Bulk operation adds around its user payload: method, path, bulkId and punctuation.
BULK_OPERATION_OVERHEAD = 96
# Bytes of the Bulk request envelope: schemas, failOnErrors and brackets.
BULK_ENVELOPE_OVERHEAD = 128


# Payload compression for large plans. A user's JSON is about 1 KB, so a
# 1,000,000-row plan held as plain JSON needs over 1 GB. Raw deflate with a
# preset dictionary of the keys and schema URNs that every payload repeats
# shrinks it about 4.5 times (967 to 207 bytes on the sample data), at a cost
# of roughly 10 to 25 µs to pack and 3 to 5 µs to unpack a user. Small plans,
# the common case, are kept plain and pay nothing.
COMPRESS_AFTER_USERS = 20_000
_DEFLATE_WBITS = -15
_PAYLOAD_DICTIONARY = (
    b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",'
    b'"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",'
    b'"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"],'
    b'"userName":"","displayName":"","name":{"givenName":"","familyName":""},'
    b'"emails":[{"value":"","type":"work","primary":true}],"title":"Agent","active":true,"externalId":"",'
    b'"phoneNumbers":[{"value":"tel:+;ext=","type":"work"},{"value":"+","type":"mobile"}],'
    b'"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":'
    b'{"department":"","division":"Home","employeeNumber":"","manager":{"value":""}},'
    b'"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User":'
    b'{"routingSkills":[{"name":"","proficiency":4.0}],"routingLanguages":[{"name":"English","proficiency":5.0}],'
    b'"externalIds":[{"authority":"","value":""}]},"roles":[{"value":""}]}'
    b"@example.com@example.org@example.net"
)


def pack_payload(payload: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, _DEFLATE_WBITS, 8, zlib.Z_DEFAULT_STRATEGY, _PAYLOAD_DICTIONARY)
    return compressor.compress(payload) + compressor.flush()


def unpack_payload(data: bytes) -> bytes:
    """Return the JSON payload of ``data``, which is either plain JSON or the output of :func:`pack_payload`."""
    if data[:1] == b"{":
        return data
    return zlib.decompressobj(_DEFLATE_WBITS, zdict=_PAYLOAD_DICTIONARY).decompress(data)


@dataclass(slots=True)
class PlannedUser:
    row: int
    user_name: str
    data: bytes
    """The payload as plain JSON, or packed by :func:`pack_payload` in large plans; read it through ``payload``."""
    manager: str | None = None
    """The manager's userName (an address, resolved to an id just before sending) or the manager's id."""

    @property
    def payload(self) -> bytes:
        """The compact JSON of the SCIM User resource that creates this user."""
        return unpack_payload(self.data)


@dataclass
class Batch:
    number: int
    users: list[PlannedUser] = field(default_factory=list)
    payload_bytes: int = 0

    @property
    def first_user(self) -> str:
        return self.users[0].user_name if self.users else ""

    @property
    def last_user(self) -> str:
        return self.users[-1].user_name if self.users else ""


@dataclass
class Plan:
    mode: str
    batches: list[Batch]
    batch_size: int
    max_payload_size: int | None
    total_users: int

    def users(self) -> Iterable[PlannedUser]:
        for batch in self.batches:
            yield from batch.users


class ExtensionFilteringEncoder:
    """Encode users without the schema extensions the server does not list for its User resource.

    A generic SCIM server rejects a whole payload that carries an unknown
    extension (for example the Genesys one). Dropping it keeps the rest of the
    user; ``dropped`` counts the users that lost data, per extension URN, for
    the report.
    """

    def __init__(self, accepted_extensions: frozenset[str]) -> None:
        from scim_tui.scim.payloads import CORE_USER_SCHEMA

        self._accepted = accepted_extensions | {CORE_USER_SCHEMA}
        self.dropped: dict[str, int] = {}

    def accepts(self, urn: str) -> bool:
        return urn in self._accepted

    def __call__(self, user: ValidUser) -> bytes:
        from scim_tui.scim.payloads import build_user_payload

        payload = build_user_payload(user)
        schemas = payload.get("schemas", [])
        refused = [urn for urn in schemas if urn not in self._accepted]
        for urn in refused:
            payload.pop(urn, None)
            self.dropped[urn] = self.dropped.get(urn, 0) + 1
        if refused:
            payload["schemas"] = [urn for urn in schemas if urn in self._accepted]
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def default_batch_size(mode: str, max_operations: int | None) -> int:
    if mode == "bulk" and max_operations:
        return max_operations
    return DEFAULT_PER_USER_BATCH


def bulk_operation_size(payload: bytes, user_name: str) -> int:
    return len(payload) + len(user_name) + BULK_OPERATION_OVERHEAD


def build_plan(
    users: Iterable[ValidUser],
    *,
    mode: str,
    batch_size: int,
    max_payload_size: int | None,
    encode: Callable[[ValidUser], bytes] | None = None,
) -> Plan:
    """Encode each user once and cut the stream into batches."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if mode not in ("bulk", "per-user"):
        raise ValueError(f"mode must be 'bulk' or 'per-user', got {mode!r}")
    if encode is None:
        from scim_tui.scim.payloads import encode_user

        encode = encode_user

    size_limit = max_payload_size if mode == "bulk" else None
    # A manager goes in the enterprise extension: when the server does not take it, there is nothing to resolve.
    accepts = getattr(encode, "accepts", None)
    sends_enterprise = accepts is None or accepts("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    batches: list[Batch] = []
    current = Batch(number=1)
    total = 0

    for user in users:
        # A manager named by address is resolved to an id at send time; one named by id only gains its $ref there.
        manager = (getattr(user, "manager_email", None) or getattr(user, "manager_id", None)) if sends_enterprise else None
        payload = encode(user)
        size = bulk_operation_size(payload, user.user_name) if mode == "bulk" else len(payload)
        data = pack_payload(payload) if total >= COMPRESS_AFTER_USERS else payload
        planned = PlannedUser(user.row, user.user_name, data, manager)

        full = len(current.users) >= batch_size
        too_big = (
            size_limit is not None
            and current.users
            and current.payload_bytes + size + BULK_ENVELOPE_OVERHEAD > size_limit
        )
        if full or too_big:
            batches.append(current)
            current = Batch(number=len(batches) + 1)

        current.users.append(planned)
        current.payload_bytes += size
        total += 1

    if current.users:
        batches.append(current)
    return Plan(mode, batches, batch_size, size_limit, total)
