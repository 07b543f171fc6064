"""Errors a user can act on. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """Something the user can fix: the message says what is wrong and what to do."""
