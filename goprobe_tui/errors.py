"""The one error base: every error the tool raises for the user to read derives from it, so a
front end catches one type and prints one line (never a traceback)."""

from goprobe_tui.exit_codes import BAD_INPUT, FAILED


class GoprobeError(Exception):
    """Something the user can act on; the message says what is wrong and what to do."""

    exit_code = FAILED


class BadInput(GoprobeError):
    """The user's input (a path, a pattern, an option, a condition) cannot be used: exit 2."""

    exit_code = BAD_INPUT
