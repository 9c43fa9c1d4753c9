"""Open an input file as text, choosing its encoding and rejecting what is not text.

Without an explicit encoding, a byte order mark selects UTF-8, UTF-16 or
UTF-32, and a file without one must be UTF-8. Guessing a legacy code page
from the bytes would silently turn names into mojibake, so an undecodable
byte stops the read with its offset and line instead, and the operator names
the real encoding. The fast path decodes with :class:`io.TextIOWrapper`;
only when it fails is the file scanned again to locate the bad byte.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
import io
import os
from pathlib import Path
from typing import IO

from scim_tui.input.errors import InputFileError

SNIFF_BYTES = 64 * 1024
_READ_CHUNK = 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# File signatures of formats that operators export by mistake, and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "It looks like an Excel workbook (.xlsx) or a ZIP archive. In Excel, use File > Save As > CSV UTF-8 and load the .csv file"),
    (b"\xd0\xcf\x11\xe0", "It looks like an old Excel workbook (.xls). In Excel, use File > Save As > CSV UTF-8 and load the .csv file"),
    (b"%PDF", "It looks like a PDF document. Export the users as CSV or JSON instead"),
    (b"\x1f\x8b", "It looks like a gzip archive. Decompress it first"),
)


@dataclass(slots=True)
class OpenedText:
    """A text stream over the file, with the raw file kept for byte progress."""

    text: io.TextIOWrapper
    raw: IO[bytes]
    encoding: str

    def close(self) -> None:
        self.text.close()


def read_head(path: Path) -> tuple[bytes, int]:
    """Return the first bytes of the file and its size, or raise InputFileError if it cannot be read."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise InputFileError(f"{path} is a directory, not a file. Give the path of the CSV or JSON file to load.") from None
    except FileNotFoundError:
        raise InputFileError(f"{path} does not exist. Check the path and the current directory.") from None
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror or error}. Check the file's permissions.") from None
    return head, size


def choose_encoding(path: Path, head: bytes, override: str | None) -> str:
    """Return the codec for the file: the override, else one chosen from the byte order mark, else UTF-8."""
    if override:
        try:
            codec = codecs.lookup(override).name
        except LookupError:
            raise InputFileError(
                f"unknown text encoding {override!r}. Use a Python codec name such as utf-8, utf-16, cp1252 or latin-1."
            ) from None
        if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return codec

    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    return "utf-8"


def reject_binary(path: Path, head: bytes, encoding: str) -> None:
    """Raise InputFileError when the first bytes show that the file is not text in a byte-oriented encoding."""
    if encoding.startswith(("utf-16", "utf-32")):
        return

    for signature, advice in _SIGNATURES:
        if head.startswith(signature):
            raise InputFileError(f"{path} is not a text file. {advice}.")

    offset = head.find(b"\x00")
    if offset < 0:
        return
    if _looks_like_utf16_without_bom(head):
        raise InputFileError(
            f"{path} looks like UTF-16 text without a byte order mark (NUL byte at offset {offset}). "
            "Save it as UTF-8, or pass its encoding, for example --encoding utf-16-le."
        )
    raise InputFileError(
        f"{path} is not a text file: it contains a NUL byte at offset {offset}. "
        "Export the users as CSV (UTF-8) or JSON and load that file."
    )


def _looks_like_utf16_without_bom(head: bytes) -> bool:
    sample = head[:4096]
    if len(sample) < 4:
        return False
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    return max(even_nuls, odd_nuls) > 0.6 * half


def open_text(path: Path, encoding: str) -> OpenedText:
    """Open the file as text without newline translation, as the csv module requires."""
    try:
        raw = path.open("rb")
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror or error}. Check the file's permissions.") from None
    text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
    return OpenedText(text=text, raw=raw, encoding=encoding)


def decode_error(path: Path, encoding: str) -> InputFileError:
    """Build the error for a file that does not decode, naming the first bad byte's offset, line and column."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    line = 1
    column = 1
    with path.open("rb") as file:
        while True:
            chunk = file.read(_READ_CHUNK)
            final = not chunk
            pending, flag = decoder.getstate()
            base = consumed - len(pending)
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as error:
                # The bytes before the bad one decode cleanly from the same state.
                replay = codecs.getincrementaldecoder(encoding)(errors="replace")
                replay.setstate((b"", flag))
                line, column = _advance(line, column, replay.decode(error.object[: error.start], False))
                offset = base + error.start
                bad = error.object[error.start : error.end]
                return _decode_message(path, encoding, offset, line, column, bad)
            line, column = _advance(line, column, text)
            consumed += len(chunk)
            if final:
                break
    return InputFileError(
        f"{path} could not be decoded as {encoding}. Save it as UTF-8, or pass its encoding, for example --encoding cp1252."
    )


def _advance(line: int, column: int, text: str) -> tuple[int, int]:
    newlines = text.count("\n")
    if newlines:
        return line + newlines, len(text) - text.rfind("\n")
    return line, column + len(text)


def _decode_message(path: Path, encoding: str, offset: int, line: int, column: int, bad: bytes) -> InputFileError:
    bad_bytes = " ".join(f"0x{byte:02X}" for byte in bad[:4])
    name = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
    return InputFileError(
        f"{path} is not valid {name}: byte {bad_bytes} at offset {offset} (line {line}, column {column}) cannot be decoded. "
        "Save the file as UTF-8 (in Excel: File > Save As > CSV UTF-8), "
        "or pass its real encoding, for example --encoding cp1252."
    )
