"""Read users from CSV, JSON and NDJSON files, map their columns to SCIM attributes and validate them.

The public surface: :class:`UserFileReader` streams :class:`ValidUser`
records and collects :class:`RowProblem` entries; :class:`InputOptions`
carries the column mapping and target rules; :func:`parse_mapping_options`
turns ``--map`` values into a mapping; :class:`InputFileError` is a problem
with the whole file, worded for the operator.
"""

from __future__ import annotations

from scim_tui.input.columns import MAPPABLE_TARGETS
from scim_tui.input.errors import InputFileError, MappingError
from scim_tui.input.options import InputOptions, load_mapping_file, parse_mapping_options
from scim_tui.input.reader import UserFileReader
from scim_tui.input.records import ExternalId, PhoneNumber, ProblemKind, Proficiency, RowProblem, ValidUser

__all__ = [
    "MAPPABLE_TARGETS",
    "ExternalId",
    "InputFileError",
    "InputOptions",
    "MappingError",
    "PhoneNumber",
    "ProblemKind",
    "Proficiency",
    "RowProblem",
    "UserFileReader",
    "ValidUser",
    "load_mapping_file",
    "parse_mapping_options",
]
