"""Stream the users of an input file as validated :class:`ValidUser` records.

:class:`UserFileReader` checks what it can about the whole file when it is
created (readable, text, known format, a userName column), then yields one
valid user at a time. It keeps no rows: only the problems found and, for
duplicate detection, each valid userName in case-folded form with the row
that first used it. Counters and byte progress are plain attributes updated
by the iterating thread; another thread may read them at any time.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scim_tui.input import columns as targets
from scim_tui.input.columns import ColumnResolver, is_genesys_layout
from scim_tui.input.decoding import (
    SNIFF_BYTES,
    OpenedText,
    choose_encoding,
    decode_error,
    open_text,
    read_head,
    reject_binary,
)
from scim_tui.input.errors import InputFileError, MappingError
from scim_tui.input.formats import (
    BadRecord,
    describe_json_value,
    detect_format,
    iter_csv,
    iter_json_array,
    iter_ndjson,
    sniff_delimiter,
)
from scim_tui.input.options import InputOptions, combined_mapping
from scim_tui.input.records import ProblemKind, RowProblem, ValidUser
from scim_tui.input.validation import FieldValues, RowValidator

MAX_STORED_WARNINGS = 1000
"""Warnings of one kind in one column kept in ``problems``; later ones are only counted.

A file where every row has, say, a trailing space would otherwise keep a
million identical warnings in memory. Invalid rows and duplicates are
always kept, because each of them needs its own line in the report.
"""

_PROGRESS_EVERY = 4096
_MAX_KEYS_LISTED = 30
_MISSING = object()


class UserFileReader:
    """Reads one CSV, JSON or NDJSON file of users; iterate it once to get the valid users.

    Raises :class:`InputFileError` for a problem with the whole file, either
    when created or while iterating (a truncated JSON array, an undecodable
    byte). Rows that are invalid or repeat an earlier userName are never
    yielded; they and every warning are in :attr:`problems`.
    """

    def __init__(self, path: str | Path, options: InputOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or InputOptions()

        self.problems: list[RowProblem] = []
        self.rows_read = 0
        self.valid = 0
        self.invalid = 0
        self.duplicates = 0
        self.warnings = 0
        self.unknown_columns: list[str] = []
        self.unsupported_columns: list[str] = []
        # Warnings counted but not kept (see MAX_STORED_WARNINGS), by "column: reason"
        # of the first one left out.
        self.suppressed_warnings: dict[str, int] = {}
        self.format = "csv"
        self.encoding = "utf-8"
        self.delimiter: str | None = None
        self.bytes_read = 0
        self.total_bytes = 0

        self._iterated = False
        self._seen: dict[str, int] = {}
        self._warning_counts: dict[tuple[str | None, str], int] = {}
        self._suppressed_labels: dict[tuple[str | None, str], str] = {}
        self._noted_columns: set[str] = set()
        self._header_row = 1
        self._header_width = 0
        self._column_plan: list[tuple[int, str, str]] = []
        self._unnamed_columns: list[int] = []
        self._unsupported_plan: list[tuple[int, str]] = []
        self._json_cache: dict[str, str | None] = {}
        self._json_keys: list[str] = []
        self._saw_user_name = False

        try:
            self._mapping = combined_mapping(self.options)
        except MappingError as error:
            raise InputFileError(f"{error}.") from None
        self._resolver = ColumnResolver(self._mapping)

        self._inspect()
        self._validator = RowValidator(
            user_name_must_be_email=self.options.user_name_must_be_email,
            column_names={target: column for _, target, column in self._column_plan},
        )

    # -- whole-file checks -----------------------------------------------------

    def _inspect(self) -> None:
        head, size = read_head(self.path)
        self.total_bytes = size
        if size == 0:
            raise InputFileError(
                f"{self.path} is empty (0 bytes). Export the users again: a CSV file needs a header row and one row per user."
            )

        self.encoding = choose_encoding(self.path, head, self.options.encoding)
        reject_binary(self.path, head, self.encoding)
        head_text = self._decode_head(head, final=size <= SNIFF_BYTES)
        if not head_text.strip(" \t\r\n\ufeff") and size <= SNIFF_BYTES:
            raise InputFileError(
                f"{self.path} contains only blank lines. Export the users again: a CSV file needs a header row and one row per user."
            )

        self.format = detect_format(self.path, head_text)
        if self.format == "csv":
            self.delimiter = sniff_delimiter(self.path, head_text)
            self._read_csv_header()

    def _decode_head(self, head: bytes, *, final: bool) -> str:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        try:
            return decoder.decode(head, final)
        except UnicodeDecodeError:
            raise decode_error(self.path, self.encoding) from None

    def _read_csv_header(self) -> None:
        opened = open_text(self.path, self.encoding)
        try:
            records = iter_csv(opened.text, self.delimiter or ",", self.path)
            header_row, header = next(records, (0, None))
            if header is None:
                raise InputFileError(f"{self.path} contains only blank lines. Add a header row and one row per user.")
            if isinstance(header, BadRecord):
                raise InputFileError(
                    f"{self.path}: the header row cannot be read because {header.reason}. {header.fix}."
                )
            # A row of bare delimiters is an empty spreadsheet row, not a user.
            first_user = next((record for record in records if _has_content(record)), None)
        except UnicodeDecodeError:
            raise decode_error(self.path, self.encoding) from None
        finally:
            opened.close()

        self._header_row = header_row
        self._plan_columns([cell.strip() for cell in header])
        if first_user is None:
            raise InputFileError(
                f"{self.path} has a header row but no user rows. Add one row per user below the header."
            )

    def _plan_columns(self, headers: list[str]) -> None:
        """Resolve each header to a target and record unknown, unsupported and repeated columns."""
        if is_genesys_layout(headers):
            self.format = "genesys-csv"
            self._resolver = ColumnResolver(self._mapping, genesys_layout=True)
        self._header_width = len(headers)
        self._check_mapped_columns_exist(headers)

        resolved: list[tuple[int, str, str]] = []
        for index, header in enumerate(headers):
            if not header:
                self._unnamed_columns.append(index)
                continue
            target = self._resolver.resolve(header)
            if target is None:
                self._note_unknown_column(self._header_row, header)
            elif target != targets.IGNORE:
                resolved.append((index, target, header))

        has_user_name = any(target == targets.USER_NAME for _, target, _ in resolved)
        plan: list[tuple[int, str, str]] = []
        used: dict[str, str] = {}
        for index, target, header in resolved:
            if target == targets.EMAIL_OR_USER_NAME:
                target = targets.EMAIL if has_user_name or targets.USER_NAME in used else targets.USER_NAME
            if target == targets.UNSUPPORTED:
                self.unsupported_columns.append(header)
                self._unsupported_plan.append((index, header))
                continue
            if target in used:
                self._note_repeated_column(self._header_row, header, used[target], target)
                continue
            used[target] = header
            plan.append((index, target, header))
        self._column_plan = plan

        if targets.USER_NAME not in used:
            found = ", ".join(repr(header) for header in headers if header) or "none"
            raise InputFileError(
                f"{self.path} has no userName column. Columns found: {found}. "
                f"Name a column {targets.USER_NAME_HEADERS}, or map one with --map 'COLUMN=userName'."
            )

    def _check_mapped_columns_exist(self, headers: list[str]) -> None:
        present = {header.casefold() for header in headers}
        missing = [column for column in self._mapping if column.strip().casefold() not in present]
        if missing:
            found = ", ".join(repr(header) for header in headers if header) or "none"
            raise InputFileError(
                f"the column mapping names {', '.join(repr(column) for column in missing)}, which {self.path} does not have. "
                f"Columns found: {found}. Correct the --map option or the mapping file."
            )

    def _note_unknown_column(self, row: int, column: str) -> None:
        if column in self._noted_columns:
            return
        self._noted_columns.add(column)
        self.unknown_columns.append(column)
        self._record(
            [
                RowProblem(
                    row,
                    column,
                    None,
                    "the column is not recognised, so its values are not sent",
                    f"Map it with --map '{column}=SCIM.PATH' (see docs/input.md for the paths), "
                    f"or silence this warning with --map '{column}=ignore'",
                    ProblemKind.WARNING,
                )
            ]
        )

    def _note_repeated_column(self, row: int, column: str, first: str, target: str) -> None:
        if column in self._noted_columns:
            return
        self._noted_columns.add(column)
        self._record(
            [
                RowProblem(
                    row,
                    column,
                    None,
                    f"column {first!r} already sets {target.lstrip('~')}, so this column's values are not sent",
                    f"Remove one of the two columns, or map this one elsewhere with --map '{column}=SCIM.PATH'",
                    ProblemKind.WARNING,
                )
            ]
        )

    # -- iteration -------------------------------------------------------------

    def __iter__(self) -> Iterator[ValidUser]:
        if self._iterated:
            raise RuntimeError("a UserFileReader can be iterated only once; create a new one to read the file again")
        self._iterated = True
        return self._users()

    def _users(self) -> Iterator[ValidUser]:
        opened = open_text(self.path, self.encoding)
        try:
            if self.format in ("csv", "genesys-csv"):
                yield from self._csv_users(opened)
            else:
                yield from self._json_users(opened)
        except UnicodeDecodeError:
            raise decode_error(self.path, self.encoding) from None
        finally:
            opened.close()

        self.bytes_read = self.total_bytes
        if self.rows_read == 0:
            raise InputFileError(f"{self.path} contains no users. Add at least one user and load the file again.")
        if self.format in ("json", "ndjson") and not self._saw_user_name:
            found = ", ".join(repr(key) for key in self._json_keys) or "none"
            raise InputFileError(
                f"no object in {self.path} has a userName. Keys found: {found}. "
                f"Name a key {targets.USER_NAME_HEADERS}, or map one with --map 'KEY=userName'."
            )

    def _csv_users(self, opened: OpenedText) -> Iterator[ValidUser]:
        records = iter_csv(opened.text, self.delimiter or ",", self.path)
        next(records, None)  # The header, already read by _read_csv_header.

        plan = self._column_plan
        unsupported = list(self._unsupported_plan)
        width = self._header_width
        unnamed = self._unnamed_columns
        accept = self._accept
        raw = opened.raw
        for row, cells in records:
            if row % _PROGRESS_EVERY == 0:
                self.bytes_read = raw.tell()
            if cells.__class__ is BadRecord:
                self.rows_read += 1
                self._reject_record(row, cells)  # type: ignore[arg-type]
                continue

            count = len(cells)  # type: ignore[arg-type]
            fields: FieldValues = {}
            for index, target, column in plan:
                if index < count:
                    value = cells[index]  # type: ignore[index]
                    if value:
                        fields[target] = (column, value)
            # Spreadsheets export trailing empty rows as bare delimiters; they are blank lines.
            if not fields and not any(cell.strip() for cell in cells):  # type: ignore[union-attr]
                continue
            self.rows_read += 1

            if unsupported:
                unsupported = self._note_unsupported_cells(row, cells, unsupported)  # type: ignore[arg-type]
            extra = None
            if count > width or unnamed:
                extra = self._stray_cells(row, cells, width, unnamed)  # type: ignore[arg-type]
            user = accept(row, fields, extra)
            if user is not None:
                yield user

    def _note_unsupported_cells(self, row: int, cells: list[str], pending: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Warn once for the first value of each column SCIM cannot set; return the columns still unseen."""
        still_pending = []
        for index, column in pending:
            value = cells[index] if index < len(cells) else ""
            if value.strip():
                self._note_unsupported(row, column, value)
            else:
                still_pending.append((index, column))
        return still_pending

    def _note_unsupported(self, row: int, column: str, value: Any) -> None:
        if column in self._noted_columns:
            return
        self._noted_columns.add(column)
        reason, fix = targets.UNSUPPORTED_REASONS.get(
            targets.normalize_header(column),
            ("Genesys Cloud's SCIM API cannot set this column, so it is ignored in every row", "Set it in Genesys Cloud after the import"),
        )
        text = value if isinstance(value, str) else _short_repr(value)
        self._record([RowProblem(row, column, text, reason, fix, ProblemKind.WARNING)])

    def _stray_cells(self, row: int, cells: list[str], width: int, unnamed: list[int]) -> list[RowProblem] | None:
        """Reject a row with values beyond the header or under an empty header: its columns are probably shifted."""
        stray = [index for index in unnamed if index < len(cells) and cells[index].strip()]
        stray += [index for index in range(width, len(cells)) if cells[index].strip()]
        if not stray:
            return None
        delimiter_name = self.delimiter if self.delimiter != "\t" else "tab"
        return [
            RowProblem(
                row,
                f"column {stray[0] + 1}",
                cells[stray[0]],
                f"the row has a value in column {stray[0] + 1}, which has no header, so its columns may be shifted",
                f"Quote values that contain the delimiter ({delimiter_name!r}), or add a header for the column",
                ProblemKind.INVALID,
            )
        ]

    def _json_users(self, opened: OpenedText) -> Iterator[ValidUser]:
        if self.format == "json":
            records = iter_json_array(opened.text, self.path)
        else:
            records = iter_ndjson(opened.text)
        accept = self._accept
        raw = opened.raw
        for row, value in records:
            self.rows_read += 1
            if self.rows_read % _PROGRESS_EVERY == 0:
                self.bytes_read = raw.tell()

            if value.__class__ is BadRecord:
                self._reject_record(row, value)  # type: ignore[arg-type]
                continue
            if value.__class__ is not dict:
                record_kind = "element" if self.format == "json" else "line"
                self._reject_record(
                    row,
                    BadRecord(
                        reason=f"the {record_kind} is {describe_json_value(value)}, not a JSON object",
                        fix='Write each user as a JSON object, such as {"userName": "jane.doe@example.com", "displayName": "Jane Doe"}',
                        value=_short_repr(value),
                    ),
                )
                continue

            fields, extra = self._json_fields(row, value)  # type: ignore[arg-type]
            user = accept(row, fields, extra)
            if user is not None:
                yield user

    def _json_fields(self, row: int, document: dict[str, Any]) -> tuple[FieldValues, list[RowProblem]]:
        """Flatten one JSON user, flat or SCIM-shaped, into target -> (column, value)."""
        fields: FieldValues = {}
        problems: list[RowProblem] = []
        for key, value in document.items():
            if key == "schemas":
                continue
            if len(self._json_keys) < _MAX_KEYS_LISTED and key not in self._json_keys:
                self._json_keys.append(key)

            if value.__class__ is dict:
                prefix = _nested_prefix(key)
                if prefix is not None:
                    for sub_key, sub_value in value.items():
                        self._add_json_field(fields, row, prefix + sub_key, sub_value)
                    continue
            elif value.__class__ is list:
                kind = targets.normalize_header(key)
                if kind in ("emails", "phonenumbers"):
                    self._add_json_multi_valued(fields, problems, row, key, kind, value)
                    continue
            self._add_json_field(fields, row, key, value)

        alias = fields.pop(targets.EMAIL_OR_USER_NAME, None)
        if alias is not None:
            if targets.USER_NAME not in fields:
                fields[targets.USER_NAME] = alias
            elif targets.EMAIL not in fields:
                fields[targets.EMAIL] = alias
            else:
                self._note_repeated_column(row, alias[0], fields[targets.EMAIL][0], targets.EMAIL)
        if targets.USER_NAME in fields:
            self._saw_user_name = True
        return fields, problems

    def _add_json_multi_valued(
        self, fields: FieldValues, problems: list[RowProblem], row: int, key: str, kind: str, items: list[Any]
    ) -> None:
        """Add SCIM ``emails`` or ``phoneNumbers`` entries, each as the column of its type."""
        attribute = "emails" if kind == "emails" else "phoneNumbers"
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(
                    RowProblem(
                        row,
                        f"{key}[{index}]",
                        _short_repr(item),
                        f"each entry of {attribute} must be an object with value and type",
                        f'Write it as {{"value": ..., "type": "work"}}',
                        ProblemKind.INVALID,
                    )
                )
                continue
            item_type = item.get("type") or "work"
            column = f'{attribute}[type eq "{item_type}"].value'
            self._add_json_field(fields, row, column, item.get("value"))

    def _add_json_field(self, fields: FieldValues, row: int, column: str, value: Any) -> None:
        target = self._json_cache.get(column, _MISSING)
        if target is _MISSING:
            target = self._resolver.resolve(column)
            self._json_cache[column] = target  # type: ignore[assignment]
        if target is None:
            if value is not None and value != "":
                self._note_unknown_column(row, column)
            return
        if target == targets.IGNORE:
            return
        if target == targets.UNSUPPORTED:
            if column not in self.unsupported_columns:
                self.unsupported_columns.append(column)
            if value is not None and value != "":
                self._note_unsupported(row, column, value)
            return
        existing = fields.get(target)  # type: ignore[arg-type]
        if existing is not None:
            if value is not None and value != "":
                self._note_repeated_column(row, column, existing[0], target)  # type: ignore[arg-type]
            return
        fields[target] = (column, value)  # type: ignore[index]

    # -- rows --------------------------------------------------------------

    def _accept(self, row: int, fields: FieldValues, extra: list[RowProblem] | None) -> ValidUser | None:
        """Validate a row, check it against earlier userNames, and count it once."""
        user, problems = self._validator.validate(row, fields, extra)
        if user is None:
            self.invalid += 1
            self._record(problems)
            return None

        name = user.user_name
        key = name.casefold()
        if key == name:
            key = name  # Share the string with the user record instead of keeping a copy.
        first = self._seen.get(key)
        if first is not None:
            self.duplicates += 1
            problems.append(
                RowProblem(
                    row,
                    self._validator.column_names.get(targets.USER_NAME, "userName"),
                    name,
                    f"the userName repeats row {first} (userNames are compared without regard to case)",
                    "Remove or correct one of the rows; only the first is sent",
                    ProblemKind.DUPLICATE,
                    name,
                )
            )
            self._record(problems)
            return None

        self._seen[key] = user.row
        self.valid += 1
        if problems:
            self._record(problems)
        return user

    def _reject_record(self, row: int, record: BadRecord) -> None:
        self.invalid += 1
        self._record([RowProblem(row, None, record.value, record.reason, record.fix, ProblemKind.INVALID)])

    def _record(self, problems: list[RowProblem]) -> None:
        for problem in problems:
            if problem.kind is ProblemKind.WARNING:
                self.warnings += 1
                # The fix text is the same for every warning of one kind, unlike the reason.
                key = (problem.column, problem.fix)
                seen = self._warning_counts.get(key, 0) + 1
                self._warning_counts[key] = seen
                if seen > MAX_STORED_WARNINGS:
                    label = self._suppressed_labels.setdefault(key, f"{problem.column}: {problem.reason}")
                    self.suppressed_warnings[label] = self.suppressed_warnings.get(label, 0) + 1
                    continue
            self.problems.append(problem)


def _has_content(record: tuple[int, list[str] | BadRecord]) -> bool:
    return isinstance(record[1], BadRecord) or any(cell.strip() for cell in record[1])


def _nested_prefix(key: str) -> str | None:
    """Return the column prefix for a nested SCIM object (``name``, an extension URN), else None."""
    folded = key.casefold()
    if folded in (targets.ENTERPRISE_URN.casefold(), targets.GENESYS_URN.casefold()):
        return key + ":"
    if folded == "name":
        return "name."
    return None


def _short_repr(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
