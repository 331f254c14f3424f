"""The one exception type that the CLI turns into a one-line message and a non-zero exit."""


class UsageError(Exception):
    """Bad input from the user: an unknown name, an invalid value, an unusable path or file."""
