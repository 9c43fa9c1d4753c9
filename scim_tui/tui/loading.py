"""Reading and planning the input file while the dashboard shows how far it got.

``load_input`` in ``engine/job.py`` creates its reader internally, so a screen
cannot watch ``bytes_read`` grow. :func:`load_observed` takes the same steps
with a reader the caller can poll from the UI thread. It also stops early
when the operator quits, because a file of a million rows should not keep the
process alive after the window has closed.
"""

from __future__ import annotations

from collections.abc import Iterator
import logging
from pathlib import Path
import threading
from typing import Any

from scim_tui.engine.job import LoadedInput, file_sha256
from scim_tui.engine.plan import ExtensionFilteringEncoder, build_plan, default_batch_size
from scim_tui.report import rejected_results

log = logging.getLogger(__name__)


class LoadCancelled(Exception):
    """The operator quit while the file was being read."""


class LoadWatch:
    """Shared between the loading thread and the UI: the reader once it exists, and a stop flag.

    The UI thread only reads integers from the reader, which is safe while the
    loading thread updates them.
    """

    def __init__(self) -> None:
        self.reader: Any = None
        self.stop = threading.Event()

    def progress(self) -> tuple[int, int | None]:
        """Return (bytes read, total bytes); the total is None until the reader exists."""
        reader = self.reader
        if reader is None:
            return 0, None
        return int(getattr(reader, "bytes_read", 0) or 0), getattr(reader, "total_bytes", None)

    def rows(self) -> int:
        reader = self.reader
        return int(getattr(reader, "rows_read", 0) or 0) if reader is not None else 0


def _stoppable(users: Any, stop: threading.Event) -> Iterator[Any]:
    for user in users:
        if stop.is_set():
            raise LoadCancelled()
        yield user


def load_observed(
    path: Path,
    watch: LoadWatch,
    *,
    mode: str,
    batch_size: int | None,
    max_operations: int | None = None,
    max_payload_size: int | None = None,
    input_options: Any = None,
    user_extensions: frozenset[str] | None = None,
) -> LoadedInput:
    """Read, validate and plan ``path`` as ``engine.job.load_input`` does, exposing the reader in ``watch``.

    Blocking: run it in a thread. Raises ``InputFileError`` when the file as a
    whole cannot be read and :class:`LoadCancelled` when ``watch.stop`` is set.
    """
    # NOTE: these steps repeat engine.job.load_input, which gives no access to
    # its reader; a change there must be made here too.
    from scim_tui.input import InputOptions, UserFileReader

    path = Path(path)
    reader = UserFileReader(path, input_options or InputOptions())
    watch.reader = reader

    size = batch_size or default_batch_size(mode, max_operations)
    encoder = ExtensionFilteringEncoder(user_extensions) if user_extensions is not None else None
    plan = build_plan(
        _stoppable(reader, watch.stop), mode=mode, batch_size=size, max_payload_size=max_payload_size, encode=encoder
    )
    loaded = LoadedInput(path=path, reader=reader, plan=plan, sha256=file_sha256(path))
    if encoder is not None and encoder.dropped:
        loaded.dropped_extensions = dict(encoder.dropped)
        for urn, count in encoder.dropped.items():
            log.warning("the server does not accept the extension %s on users; its values were left out for %d users", urn, count)
    loaded.rejected = rejected_results(reader.problems)
    log.info(
        "read %s: %d rows, %d valid, %d invalid, %d duplicates; %d batches",
        path, reader.rows_read, reader.valid, reader.invalid, reader.duplicates, len(plan.batches),
    )
    return loaded
