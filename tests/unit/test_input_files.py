"""Whole-file problems and file formats: encodings, delimiters, JSON streaming.

Each case writes the file's exact bytes to a temporary directory and checks
the exact message of the InputFileError, or the values that were read.
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import pytest

from scim_tui.input import InputFileError, InputOptions, ProblemKind, UserFileReader
from scim_tui.input import formats

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "input"


def read_all(path: Path, options: InputOptions | None = None) -> tuple[UserFileReader, list]:
    reader = UserFileReader(path, options or InputOptions())
    return reader, list(reader)


def file_error(path: Path, options: InputOptions | None = None) -> str:
    with pytest.raises(InputFileError) as caught:
        read_all(path, options)
    return str(caught.value)


LATIN1_CSV = "userName,displayName\njose@example.com,Jos\xe9 Garc\xeda\n".encode("latin-1")

FILE_ERRORS = [
    pytest.param(
        "users.csv",
        b"",
        "{path} is empty (0 bytes). Export the users again: a CSV file needs a header row and one row per user.",
        id="empty file",
    ),
    pytest.param(
        "users.csv",
        b"\r\n  \n\t\n",
        "{path} contains only blank lines. Export the users again: a CSV file needs a header row and one row per user.",
        id="blank lines only",
    ),
    pytest.param(
        "users.csv",
        b"userName,displayName\n",
        "{path} has a header row but no user rows. Add one row per user below the header.",
        id="header only",
    ),
    pytest.param(
        "users.csv",
        b"userName,displayName\r\n\r\n,\r\n",
        "{path} has a header row but no user rows. Add one row per user below the header.",
        id="header and empty rows",
    ),
    pytest.param(
        "users.csv",
        b"\x00\x01\x02\x03binary\xff\xfe",
        "{path} is not a text file: it contains a NUL byte at offset 0. Export the users as CSV (UTF-8) or JSON and load that file.",
        id="binary data",
    ),
    pytest.param(
        "users.csv",
        b"PK\x03\x04\x14\x00\x06\x00",
        "{path} is not a text file. It looks like an Excel workbook (.xlsx) or a ZIP archive. "
        "In Excel, use File > Save As > CSV UTF-8 and load the .csv file.",
        id="xlsx saved as csv",
    ),
    pytest.param(
        "users.csv",
        "userName,displayName\na@example.com,A\n".encode("utf-16-le"),
        "{path} looks like UTF-16 text without a byte order mark (NUL byte at offset 1). "
        "Save it as UTF-8, or pass its encoding, for example --encoding utf-16-le.",
        id="utf-16 without bom",
    ),
    pytest.param(
        "users.csv",
        LATIN1_CSV,
        "{path} is not valid UTF-8: byte 0xE9 at offset 41 (line 2, column 21) cannot be decoded. "
        "Save the file as UTF-8 (in Excel: File > Save As > CSV UTF-8), or pass its real encoding, "
        "for example --encoding cp1252.",
        id="latin-1 bytes in utf-8",
    ),
    pytest.param(
        "users.json",
        b'[{"userName": "a@example.com", "displayName": "A"},\n {"userName": "b@exa',
        "{path} ends in the middle of the JSON array, after 1 complete element (line 2): "
        "the file is truncated. Export or copy it again in full.",
        id="truncated json",
    ),
    pytest.param(
        "users.json",
        b'[{"userName": "a@example.com", "displayName": "A"}',
        "{path} ends in the middle of the JSON array, after 1 complete element (line 1): "
        "the file is truncated. Export or copy it again in full.",
        id="json without closing bracket",
    ),
    pytest.param(
        "users.json",
        b'[{"userName": "a@example.com"} {"userName": "b@example.com"}]',
        "{path} is not valid JSON: expected ',' or ']' after element 1 at line 1, column 32. "
        "Correct the JSON at that point and load the file again.",
        id="json missing comma",
    ),
    pytest.param(
        "users.json",
        b'[\n  {"userName": "a@example.com", "displayName": \'A\'}\n]',
        "{path} is not valid JSON: Expecting value at line 2, column 48. Correct the JSON at that point and load the file again.",
        id="json single quotes",
    ),
    pytest.param(
        "users.json",
        b'{\n  "userName": "a@example.com",\n  "displayName": "A"\n}\n',
        "{path} contains one JSON object, not an array of users. "
        "Put the users in a JSON array ([{...}, {...}]) or write one object per line (NDJSON, .ndjson).",
        id="json single object",
    ),
    pytest.param(
        "users.json",
        b"[]",
        "{path} contains no users. Add at least one user and load the file again.",
        id="empty json array",
    ),
    pytest.param(
        "users.json",
        b'[{"mail_address": "a@example.com", "displayName": "A"}]',
        "no object in {path} has a userName. Keys found: 'mail_address', 'displayName'. "
        "Name a key userName, user_name, username, login, email, mail, e-mail, emailAddress, "
        "or map one with --map 'KEY=userName'.",
        id="json without userName key",
    ),
    pytest.param(
        "users.csv",
        b"first,last,department\nAnn,Lee,Sales\n",
        "{path} has no userName column. Columns found: 'first', 'last', 'department'. "
        "Name a column userName, user_name, username, login, email, mail, e-mail, emailAddress, "
        "or map one with --map 'COLUMN=userName'.",
        id="missing userName column",
    ),
    pytest.param(
        "users.csv",
        b'userName,displayName\na@example.com,A\nb@example.com,"B\nc@example.com,C\n',
        "{path}: the quoted value that starts in row 3 (line 3) is never closed, "
        'so the rest of the file cannot be read. Add the missing closing quote (").',
        id="unclosed quote",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), FILE_ERRORS)
def test_file_error_message(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    assert file_error(path) == expected.replace("{path}", str(path))


def test_decode_error_after_first_chunk(tmp_path: Path) -> None:
    """A bad byte beyond the sniffed head is found while iterating, with its absolute line."""
    rows = "".join(f"user{index}@example.com,User {index}\n" for index in range(5000))
    good = ("userName,displayName\n" + rows).encode("utf-8")
    path = tmp_path / "users.csv"
    path.write_bytes(good + b"late@example.com,Ren\xe9e\n")

    reader = UserFileReader(path)
    with pytest.raises(InputFileError) as caught:
        list(reader)

    assert str(caught.value) == (
        f"{path} is not valid UTF-8: byte 0xE9 at offset {len(good) + 20} (line 5002, column 21) cannot be decoded. "
        "Save the file as UTF-8 (in Excel: File > Save As > CSV UTF-8), or pass its real encoding, for example --encoding cp1252."
    )


def test_encoding_override_reads_latin1(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(LATIN1_CSV)

    reader, users = read_all(path, InputOptions(encoding="cp1252"))

    assert reader.encoding == "cp1252"
    assert users[0].display_name == "José García"


def test_unknown_encoding_override(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(b"userName,displayName\na@example.com,A\n")

    assert file_error(path, InputOptions(encoding="klingon")) == (
        "unknown text encoding 'klingon'. Use a Python codec name such as utf-8, utf-16, cp1252 or latin-1."
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"

    assert file_error(path) == f"{path} does not exist. Check the path and the current directory."


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert file_error(tmp_path) == f"{tmp_path} is a directory, not a file. Give the path of the CSV or JSON file to load."


USERS_TEXT = "userName,displayName,title\r\nann@example.com,Ann Lee,Agent\r\nbo@example.com,Bo Chen,Søren's lead\r\n"

ENCODINGS = [
    pytest.param(USERS_TEXT.encode("utf-8"), "utf-8", id="utf-8"),
    pytest.param(codecs.BOM_UTF8 + USERS_TEXT.encode("utf-8"), "utf-8-sig", id="utf-8 with bom"),
    pytest.param(USERS_TEXT.encode("utf-16"), "utf-16", id="utf-16 native bom"),
    pytest.param(codecs.BOM_UTF16_LE + USERS_TEXT.encode("utf-16-le"), "utf-16", id="utf-16-le bom"),
    pytest.param(codecs.BOM_UTF16_BE + USERS_TEXT.encode("utf-16-be"), "utf-16", id="utf-16-be bom"),
    pytest.param(codecs.BOM_UTF32_LE + USERS_TEXT.encode("utf-32-le"), "utf-32", id="utf-32-le bom"),
]


@pytest.mark.parametrize(("content", "encoding"), ENCODINGS)
def test_encoding_detected(tmp_path: Path, content: bytes, encoding: str) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(content)

    reader, users = read_all(path)

    assert reader.encoding == encoding
    assert [user.user_name for user in users] == ["ann@example.com", "bo@example.com"]
    assert users[1].title == "Søren's lead"
    assert reader.problems == []


DELIMITERS = [
    pytest.param("users.csv", ";", ";", id="semicolon"),
    pytest.param("users.csv", "\t", "\t", id="tab in .csv"),
    pytest.param("users.tsv", "\t", "\t", id="tab in .tsv"),
    pytest.param("users.txt", "|", "|", id="pipe in .txt"),
    pytest.param("users.csv", ",", ",", id="comma"),
]


@pytest.mark.parametrize(("name", "delimiter", "expected"), DELIMITERS)
def test_delimiter_sniffed(tmp_path: Path, name: str, delimiter: str, expected: str) -> None:
    lines = [
        ["userName", "displayName", "department"],
        ["ann@example.com", '"Lee, Ann"', '"Sales; EMEA"'],
        ["bo@example.com", "Bo Chen", "Support|Tier 2" if delimiter != "|" else '"Support|Tier 2"'],
    ]
    path = tmp_path / name
    path.write_text("\n".join(delimiter.join(line) for line in lines) + "\n", encoding="utf-8")

    reader, users = read_all(path)

    assert reader.delimiter == expected
    assert reader.format == "csv"
    assert [user.display_name for user in users] == ["Lee, Ann", "Bo Chen"]
    assert [user.department for user in users] == ["Sales; EMEA", "Support|Tier 2"]


def test_semicolon_bom_crlf_fixture() -> None:
    """A German HR export: BOM, semicolons, CRLF, quoted cells, headers mapped with --map."""
    from scim_tui.input import parse_mapping_options

    mapping = parse_mapping_options(
        ["Vorname=name.givenName", "Nachname=name.familyName", "Abteilung=enterprise.department", "Mobil=phoneNumbers.mobile"]
    )
    reader, users = read_all(FIXTURES / "hr_export_semicolon_bom.csv", InputOptions(mapping=mapping))

    assert (reader.encoding, reader.delimiter) == ("utf-8-sig", ";")
    assert [user.user_name for user in users] == ["lena.vogel@example.de", "max.bauer@example.de"]
    assert [user.display_name for user in users] == ["Lena Vogel", "Max Bauer"]
    assert users[1].department == "Service; Support"
    assert users[0].phone_numbers[0].value == "+4915123456789"
    assert users[0].phone_numbers[0].type == "mobile"
    assert users[1].phone_numbers == []


def test_crlf_and_embedded_newline_rows(tmp_path: Path) -> None:
    """A quoted cell spanning lines is one row; row numbers count records and blank lines, as a spreadsheet does."""
    path = tmp_path / "users.csv"
    path.write_bytes(
        b"userName,displayName,notes\r\n"
        b'ann@example.com,Ann Lee,"first line\r\nsecond line"\r\n'
        b"\r\n"
        b"bo@example.com,Bo Chen,\r\n"
    )

    reader, users = read_all(path, InputOptions(mapping={"notes": "ignore"}))

    assert [(user.row, user.user_name, user.display_name) for user in users] == [
        (2, "ann@example.com", "Ann Lee"),
        (4, "bo@example.com", "Bo Chen"),
    ]
    assert reader.rows_read == 2
    assert reader.problems == []


def test_stray_quote_rejects_one_row(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text('userName,displayName\nann@example.com,"Ann" Lee\nbo@example.com,Bo Chen\n', encoding="utf-8")

    reader, users = read_all(path)

    assert [user.user_name for user in users] == ["bo@example.com"]
    assert [problem.describe() for problem in reader.problems] == [
        'row 2: a closing quote is followed by other characters in the same value. '
        'Fix: Enclose the whole value in quotes and write each quote inside it twice ("")'
    ]


def test_more_values_than_header(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "userName,displayName\nann@example.com,Lee, Ann\nbo@example.com,Bo Chen,,\n", encoding="utf-8"
    )

    reader, users = read_all(path)

    assert [user.user_name for user in users] == ["bo@example.com"]
    assert [problem.describe() for problem in reader.problems] == [
        "row 2, column 'column 3', value ' Ann': the row has a value in column 3, which has no header, "
        "so its columns may be shifted. Fix: Quote values that contain the delimiter (','), or add a header for the column"
    ]
    assert reader.invalid == 1


def test_ndjson_broken_line_keeps_other_rows(tmp_path: Path) -> None:
    path = tmp_path / "users.ndjson"
    path.write_text(
        '{"userName": "ann@example.com", "displayName": "Ann"}\n'
        "\n"
        '{"userName": "bo@example.com", "displayName": "Bo"\n'
        '{"userName": "cy@example.com", "displayName": "Cy"}\n',
        encoding="utf-8",
    )

    reader, users = read_all(path)

    assert [(user.row, user.user_name) for user in users] == [(1, "ann@example.com"), (4, "cy@example.com")]
    assert [problem.describe() for problem in reader.problems] == [
        "row 3, value '{\"userName\": \"bo@example.com\", \"displayName\": \"Bo\"': the line is not valid JSON: "
        "Expecting ',' delimiter at column 51. Fix: Correct the JSON on this line: one complete object per line"
    ]
    assert (reader.format, reader.rows_read, reader.valid, reader.invalid) == ("ndjson", 3, 2, 1)


def test_json_array_of_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text('[42, "ann@example.com", null, {"userName": "bo@example.com", "displayName": "Bo"}]', encoding="utf-8")

    reader, users = read_all(path)

    assert [user.row for user in users] == [4]
    assert [(problem.row, problem.value, problem.reason) for problem in reader.problems] == [
        (1, "42", "the element is a number, not a JSON object"),
        (2, "'ann@example.com'", "the element is a string, not a JSON object"),
        (3, "None", "the element is null, not a JSON object"),
    ]
    assert reader.invalid == 3


FORMATS = [
    pytest.param("users.json", '[{"userName": "a@example.com", "displayName": "A"}]', "json", id="json by suffix"),
    pytest.param("users.jsonl", '{"userName": "a@example.com", "displayName": "A"}\n', "ndjson", id="jsonl"),
    pytest.param("users.ndjson", '{"userName": "a@example.com", "displayName": "A"}\n', "ndjson", id="ndjson"),
    pytest.param("users.json", '{"userName": "a@example.com", "displayName": "A"}\n', "ndjson", id="ndjson named .json"),
    pytest.param("users.ndjson", '[{"userName": "a@example.com", "displayName": "A"}]', "json", id="array named .ndjson"),
    pytest.param("export", '  [{"userName": "a@example.com", "displayName": "A"}]', "json", id="json without suffix"),
    pytest.param("export.txt", "userName,displayName\na@example.com,A\n", "csv", id="csv without csv suffix"),
]


@pytest.mark.parametrize(("name", "text", "expected"), FORMATS)
def test_format_detected(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    reader, users = read_all(path)

    assert reader.format == expected
    assert [user.user_name for user in users] == ["a@example.com"]


def test_json_array_split_at_every_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny read chunks cut numbers, strings and keywords; each element must still parse whole."""
    monkeypatch.setattr(formats, "_JSON_CHUNK", 3)
    document = [{"n": 123456789, "s": "x" * 10, "t": True, "f": None}, 9876543210, "text", [1, 2], 0.5]
    text = json.dumps(document, indent=1)

    elements = list(formats.iter_json_array(io.StringIO(text), Path("inline.json")))

    assert elements == list(enumerate(document, start=1))


class CountingStream(io.StringIO):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.characters_read = 0

    def read(self, size: int | None = -1) -> str:
        chunk = super().read(size)
        self.characters_read += len(chunk)
        return chunk


def test_json_array_streams() -> None:
    """The first element is available after one chunk of a much larger array."""
    element = json.dumps({"userName": "someone@example.com", "displayName": "Someone"})
    text = "[" + ",\n".join([element] * 20000) + "]"
    stream = CountingStream(text)

    elements = formats.iter_json_array(stream, Path("inline.json"))
    next(elements)

    assert stream.characters_read <= formats._JSON_CHUNK
    assert len(text) > 10 * formats._JSON_CHUNK
    assert sum(1 for _ in elements) == 19999


def test_progress_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("userName,displayName\n" + "".join(f"u{i}@example.com,U {i}\n" for i in range(10)), encoding="utf-8")
    reader = UserFileReader(path)

    assert (reader.total_bytes, reader.bytes_read) == (path.stat().st_size, 0)
    users = list(reader)

    assert reader.bytes_read == reader.total_bytes
    assert (reader.rows_read, reader.valid, reader.invalid, reader.duplicates, reader.warnings) == (10, 10, 0, 0, 0)
    assert len(users) == 10


def test_reader_iterates_once(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("userName,displayName\na@example.com,A\n", encoding="utf-8")
    reader = UserFileReader(path)
    list(reader)

    with pytest.raises(RuntimeError, match="iterated only once"):
        iter(reader)


def test_problem_kinds_for_warning_only_row(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("userName,displayName\na@example.com, A \n", encoding="utf-8")

    reader, users = read_all(path)

    assert users[0].display_name == "A"
    assert [problem.kind for problem in reader.problems] == [ProblemKind.WARNING]


def test_json_error_column_on_one_long_line(tmp_path: Path) -> None:
    """Line and column stay absolute after the read buffer has dropped the start of a minified array."""
    element = '{"userName": "u@example.com", "displayName": "U"}'
    head = "[" + ",".join([element] * 3000) + ',{"userName": "x@example.com", "displayName": '
    path = tmp_path / "users.json"
    path.write_text(head + "}]", encoding="utf-8")

    assert file_error(path) == (
        f"{path} is not valid JSON: Expecting value at line 1, column {len(head) + 1}. "
        "Correct the JSON at that point and load the file again."
    )
