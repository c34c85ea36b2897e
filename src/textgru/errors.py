"""The exception types that scripts turn into a single clear line and a non-zero exit."""


class TextgruError(Exception):
    """A problem with the user's input or config; the message names the problem and the fix."""


class TrainingStopped(TextgruError):
    """Training stopped by Ctrl+C or SIGTERM: the command exits 130, and a `-m` sweep stops with it (it went on to
    its next job)."""
