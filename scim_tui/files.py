"""Writing files that may hold personal data: private mode, atomic replace, no silent overwrite."""

from __future__ import annotations

import os
from pathlib import Path
import tempfile

PRIVATE_MODE = 0o600


class FileExistsWithoutOverwrite(FileExistsError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists; choose another path or pass --overwrite to replace it")
        self.path = path


def write_private_atomically(path: Path, data: bytes, *, overwrite: bool) -> Path:
    """Write ``data`` to ``path`` with mode 0600 through a temporary file and a rename.

    Readers never see a half-written file, and a crash leaves either the old
    file or the new one.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsWithoutOverwrite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_MODE)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path
