"""Errors that carry the contract's exit code, so the CLI can report them in one line."""


class AuditorError(Exception):
    """An expected failure: the message is for the user, the exit code for scripts."""

    exit_code = 70


class UsageError(AuditorError):
    """Bad arguments, configuration or an unknown revision."""

    exit_code = 2


class SourceError(AuditorError):
    """A source could not be read: a bad file, a failing API."""

    exit_code = 3


class GitError(AuditorError):
    """The snapshots repository could not be read or written."""

    exit_code = 4


class DamagedSnapshot(GitError):
    """A file on the snapshots branch is not what auditor writes: cut, hand-edited, or
    from a newer layout. Reading on would give a wrong history, so nothing does."""
