"""The exceptions that the CLI turns into a one-line ``error: ...`` message and a non-zero exit."""


class UsageError(Exception):
    """Bad input from the user: an unknown name, an invalid value, an unusable path or file.

    Raised before anything is written; the CLI exits with status 2.
    """


class RunFailed(Exception):
    """A run stopped on its own: non-finite losses, a full disk. The CLI exits with status 1.

    The message says what happened and what on disk is still intact.
    """


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM after saving a checkpoint where it stood. The CLI exits
    with status 130; rerunning the same command resumes from that checkpoint."""
