"""The one exception type that scripts turn into a single clear line and a non-zero exit."""


class TextgruError(Exception):
    """A problem with the user's input or config; the message names the problem and the fix."""
