"""The exception types that scripts turn into a single clear line and a non-zero exit, and the check of a flag."""


class TextgruError(Exception):
    """A problem with the user's input or config; the message names the problem and the fix."""


class TrainingStopped(TextgruError):
    """Training stopped by Ctrl+C or SIGTERM: the command exits 130, and a `-m` sweep stops with it (it went on to
    its next job)."""


def require_bool(value: object, name: str) -> None:
    """One line for a flag that is not True or False: `bool("false")` is True, and an `overwrite="false"` from a
    config file replaced the user's report (a review)."""
    if not isinstance(value, bool):
        raise TextgruError(f"{name}={value!r} must be true or false")


def require_split(split: object) -> None:
    """One line for a split that is not a name: `split=0` was taken as no split, the default (a review)."""
    if split is not None and not isinstance(split, str):
        raise TextgruError(f"split={split!r} must be a split's name (e.g. 'test', 'validation', 'all') or None")
