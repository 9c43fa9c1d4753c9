"""Record streams for the three input formats: CSV, a JSON array, and NDJSON.

Each stream yields ``(row, record)`` pairs one at a time and keeps only the
current record and a read buffer, so a file of a million users costs no more
memory than a file of ten. A record is a list of cells (CSV), a decoded
JSON value (JSON, NDJSON), or a :class:`BadRecord` when one record cannot be
parsed but the rest of the file still can. A problem that makes the rest of
the file unreadable raises :class:`InputFileError`.
"""

from __future__ import annotations

from collections.abc import Iterator
import csv
from dataclasses import dataclass
import json
from pathlib import Path
import re
from typing import TextIO

from scim_tui.input.errors import InputFileError

CSV_DELIMITERS = (",", ";", "\t", "|")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}

_JSON_CHUNK = 64 * 1024
# A user object larger than this cannot be sent anyway (Genesys Cloud rejects
# bodies over 512,000 bytes), so a parse error that persists with this much
# text buffered is a syntax error, not a record cut by the read buffer.
_MAX_RECORD_CHARS = 1024 * 1024
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARACTERS = "0123456789.eE+-"


@dataclass(slots=True, frozen=True)
class BadRecord:
    """A record that could not be parsed, worded as a row problem."""

    reason: str
    fix: str
    value: str | None = None


def detect_format(path: Path, head_text: str) -> str:
    """Return "csv", "json" or "ndjson" from the file name, checked against the first characters."""
    by_suffix = _SUFFIX_FORMATS.get(path.suffix.casefold())
    if by_suffix == "csv":
        return "csv"

    start = head_text.lstrip(" \t\r\n\ufeff")[:1]
    if start == "[":
        return "json"
    if start == "{":
        return "ndjson" if _first_line_is_object(head_text) else "json"
    if by_suffix in ("json", "ndjson"):
        return by_suffix
    return "csv"


def _first_line_is_object(head_text: str) -> bool:
    first_line = head_text.lstrip(" \t\r\n\ufeff").split("\n", 1)[0]
    try:
        return isinstance(json.loads(first_line), dict)
    except ValueError:
        return False


def sniff_delimiter(path: Path, head_text: str) -> str:
    """Pick the delimiter that occurs most often outside quotes in the header line; ties go to the comma."""
    if path.suffix.casefold() == ".tsv":
        return "\t"
    header = _first_record_text(head_text.lstrip("\ufeff\r\n"))
    counts = dict.fromkeys(CSV_DELIMITERS, 0)
    quoted = False
    for character in header:
        if character == '"':
            quoted = not quoted
        elif not quoted and character in counts:
            counts[character] += 1
    best = max(CSV_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _first_record_text(text: str) -> str:
    quoted = False
    for index, character in enumerate(text):
        if character == '"':
            quoted = not quoted
        elif character in "\r\n" and not quoted:
            return text[:index]
    return text


def iter_csv(stream: TextIO, delimiter: str, path: Path) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """Yield ``(row, cells)`` for every record, the header being row 1, as a spreadsheet numbers rows.

    A blank line keeps its row number but yields nothing. With ``strict``
    parsing, a stray quote becomes an error for that record alone. A quote
    that is never closed swallows the rest of the file, so it raises
    InputFileError.
    """
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    row = 0
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row += 1
            message = str(error)
            if message.startswith("unexpected end of data"):
                raise InputFileError(
                    f"{path}: the quoted value that starts in row {row} (line {start_line}) is never closed, "
                    "so the rest of the file cannot be read. Add the missing closing quote (\")."
                ) from None
            if message.startswith("field larger than field limit"):
                raise InputFileError(
                    f"{path}: row {row} (line {start_line}) has a value longer than {csv.field_size_limit():,} characters, "
                    "which usually means a quote that is never closed. Check the quotes in that row and the rows above it."
                ) from None
            yield row, BadRecord(
                reason="a closing quote is followed by other characters in the same value",
                fix='Enclose the whole value in quotes and write each quote inside it twice ("")',
            )
            continue

        row += 1
        if cells:
            yield row, cells


def iter_ndjson(stream: TextIO) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, value)`` for every non-blank line; a line that is not JSON yields a BadRecord."""
    decode = json.loads
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, decode(line.rstrip("\r\n"))
        except json.JSONDecodeError as error:
            yield number, BadRecord(
                reason=f"the line is not valid JSON: {error.msg} at column {error.colno}",
                fix="Correct the JSON on this line: one complete object per line",
                value=_shorten(line.strip()),
            )


def iter_json_array(stream: TextIO, path: Path) -> Iterator[tuple[int, object]]:
    """Yield ``(position, value)`` for each element of a top-level JSON array, reading in chunks.

    ``json.JSONDecoder.raw_decode`` parses one element at a time from a
    buffer that is refilled as needed, so the whole array is never in memory.
    A syntax error or a truncated file raises InputFileError, because the
    elements after it cannot be found reliably.
    """
    parser = _ArrayParser(stream, path)
    yield from parser.elements()


class _ArrayParser:
    def __init__(self, stream: TextIO, path: Path) -> None:
        self.stream = stream
        self.path = path
        self.buffer = ""
        self.position = 0
        self.line_base = 1
        # Characters of the buffer's first line that were already dropped.
        self.column_base = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def elements(self) -> Iterator[tuple[int, object]]:
        self._skip_whitespace()
        if self._peek() != "[":
            raise self._not_an_array()
        self.position += 1

        count = 0
        while True:
            self._skip_whitespace()
            character = self._peek()
            if character == "]":
                self.position += 1
                self._expect_end(count)
                return
            if character == "":
                raise self._truncated(count)

            value = self._decode_element(count)
            count += 1
            yield count, value

            self._skip_whitespace()
            character = self._peek()
            if character == ",":
                self.position += 1
            elif character == "]":
                continue
            elif character == "":
                raise self._truncated(count)
            else:
                raise self._syntax_error(self.position, f"expected ',' or ']' after element {count}")

    def _decode_element(self, count: int) -> object:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                if self.eof:
                    if error.msg.startswith("Unterminated string") or error.pos >= len(self.buffer.rstrip()):
                        raise self._truncated(count) from None
                    raise self._syntax_error(error.pos, error.msg) from None
                if len(self.buffer) - self.position > _MAX_RECORD_CHARS:
                    raise self._syntax_error(error.pos, error.msg) from None
                self._fill()
                continue

            # A value that reaches the end of the buffer, or a number followed only by
            # characters that could continue it ("0." of "0.5"), may go on in the next chunk.
            if not self.eof and (
                end == len(self.buffer)
                or (value.__class__ in (int, float) and not self.buffer[end:].strip(_NUMBER_CHARACTERS))
            ):
                self._fill()
                continue
            self.position = end
            return value

    def _fill(self) -> None:
        """Drop consumed text and append the next chunk, keeping line and column numbers absolute."""
        if self.position:
            last_newline = self.buffer.rfind("\n", 0, self.position)
            if last_newline >= 0:
                self.line_base += self.buffer.count("\n", 0, self.position)
                self.column_base = self.position - last_newline - 1
            else:
                self.column_base += self.position
            self.buffer = self.buffer[self.position :]
            self.position = 0
        chunk = self.stream.read(_JSON_CHUNK)
        if chunk:
            self.buffer += chunk
        else:
            self.eof = True

    def _peek(self) -> str:
        while self.position >= len(self.buffer) and not self.eof:
            self._fill()
        return self.buffer[self.position] if self.position < len(self.buffer) else ""

    def _skip_whitespace(self) -> None:
        while True:
            self.position = _WHITESPACE.match(self.buffer, self.position).end()
            if self.position < len(self.buffer) or self.eof:
                return
            self._fill()

    def _expect_end(self, count: int) -> None:
        self._skip_whitespace()
        if self._peek() != "":
            raise self._syntax_error(self.position, f"unexpected text after the closing ']' of the array of {count} elements")

    def _line_and_column(self, position: int) -> tuple[int, int]:
        newlines = self.buffer.count("\n", 0, position)
        if newlines:
            return self.line_base + newlines, position - self.buffer.rfind("\n", 0, position)
        return self.line_base, self.column_base + position + 1

    def _truncated(self, count: int) -> InputFileError:
        line, _ = self._line_and_column(len(self.buffer))
        return InputFileError(
            f"{self.path} ends in the middle of the JSON array, after {count} complete {'element' if count == 1 else 'elements'} (line {line}): "
            "the file is truncated. Export or copy it again in full."
        )

    def _syntax_error(self, position: int, message: str) -> InputFileError:
        line, column = self._line_and_column(position)
        return InputFileError(
            f"{self.path} is not valid JSON: {message} at line {line}, column {column}. "
            "Correct the JSON at that point and load the file again."
        )

    def _not_an_array(self) -> InputFileError:
        start = self._peek()
        if start == "{":
            shape = "one JSON object"
        elif start == "":
            shape = "no JSON value"
        else:
            shape = "a JSON value that is not an array"
        return InputFileError(
            f"{self.path} contains {shape}, not an array of users. "
            "Put the users in a JSON array ([{...}, {...}]) or write one object per line (NDJSON, .ndjson)."
        )


def describe_json_value(value: object) -> str:
    """Name the kind of a decoded JSON value for a message: "a JSON object", "null", "a number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
