"""Errors a person can cause and fix, as opposed to bugs."""


class UserError(ValueError):
    """A failure whose message is written for the user: what happened and what to do.

    The UI shows ``str(error)`` as it is; anything else that escapes is reported as an
    unexpected error with its type, so raise this only with a sentence a person can act on.
    """
