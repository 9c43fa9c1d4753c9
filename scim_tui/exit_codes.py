"""Process exit codes of the ``scim-tui`` command, documented in README.md."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every valid row ended ``created`` or ``existed``."""

    USERS_FAILED = 1
    """At least one valid row ended ``failed`` or ``not_attempted``; see failed.csv."""

    USAGE = 2
    """Bad command line, configuration or input file; nothing was sent."""

    TARGET_ERROR = 3
    """The target could not be reached, or rejected the credentials."""

    INTERRUPTED = 130
    """Stopped by ctrl+c or SIGTERM; the report covers what happened until then."""
