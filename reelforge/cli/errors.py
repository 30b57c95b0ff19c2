"""The one exception the CLI prints as a single line before exiting non-zero."""


class CliError(Exception):
    """A failure to report to the user in one line (exit status 1)."""
