"""Reading options for an input file: the column mapping, the target's rules and the encoding.

A mapping pairs a column (a CSV header or a JSON key) with a SCIM path. It
comes from ``--map COLUMN=scim.path`` options, from a TOML file with a
``[columns]`` table, or both; ``--map`` wins over the file for the same column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import tomllib

from scim_tui.input.columns import parse_target
from scim_tui.input.errors import MappingError


@dataclass
class InputOptions:
    """Settings for reading one input file."""

    mapping: dict[str, str] = field(default_factory=dict)
    """Column name -> SCIM path, from ``--map``; overrides the mapping file and the aliases."""

    mapping_file: Path | None = None
    """TOML file with a ``[columns]`` table of ``column = "scim.path"`` lines."""

    user_name_must_be_email: bool = False
    """Reject a userName that is not an email address (Genesys Cloud requires one)."""

    encoding: str | None = None
    """Text encoding of the file; None detects UTF-8, UTF-16 and UTF-32 from the byte order mark."""


def parse_mapping_options(values: list[str]) -> dict[str, str]:
    """Parse ``--map`` values such as ``"Emp No=enterprise.employeeNumber"`` into column -> target.

    The column is everything before the last ``=``, so a header may contain
    ``=`` itself. Raises MappingError (a ValueError) naming the bad value.
    """
    mapping: dict[str, str] = {}
    for value in values:
        column, separator, path = value.rpartition("=")
        column = column.strip()
        if not separator or not column or not path.strip():
            raise MappingError(
                f"invalid --map value {value!r}: write it as COLUMN=scim.path, for example 'Emp No=enterprise.employeeNumber'"
            )
        try:
            mapping[column] = parse_target(path)
        except MappingError as error:
            raise MappingError(f"invalid --map value {value!r}: {error}") from None
    return mapping


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read a TOML mapping file into column -> target. Raises MappingError naming the file and the entry."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise MappingError(f"cannot read mapping file {str(path)!r}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"mapping file {str(path)!r} is not valid TOML: {error}") from None

    columns = document.get("columns")
    if not isinstance(columns, dict):
        raise MappingError(
            f'mapping file {str(path)!r} has no [columns] table. Write one line per column under [columns], such as "Emp No" = "enterprise.employeeNumber"'
        )

    mapping: dict[str, str] = {}
    for column, target in columns.items():
        if not isinstance(target, str):
            raise MappingError(
                f"mapping file {str(path)!r}: the value for column {column!r} must be a SCIM path in quotes, not {target!r}"
            )
        try:
            mapping[column] = parse_target(target)
        except MappingError as error:
            raise MappingError(f"mapping file {str(path)!r}, column {column!r}: {error}") from None
    return mapping


def combined_mapping(options: InputOptions) -> dict[str, str]:
    """Merge the mapping file and ``--map`` values, ``--map`` last so that it wins."""
    mapping: dict[str, str] = {}
    if options.mapping_file is not None:
        mapping.update(load_mapping_file(options.mapping_file))
    for column, target in options.mapping.items():
        mapping[column] = parse_target(target)
    return mapping
