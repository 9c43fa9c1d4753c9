"""Errors that stop the reading of a whole input file.

A problem in one row does not raise. It becomes a
:class:`~scim_tui.input.records.RowProblem`, and the other rows are still read.
"""

from __future__ import annotations


class InputFileError(Exception):
    """The input file cannot be read as a list of users.

    The message is one paragraph for the operator: what is wrong, where in the
    file, and what to do. Front ends print it as it is, without a traceback.
    """


class MappingError(ValueError):
    """A column mapping given with ``--map`` or in a mapping file is invalid."""
