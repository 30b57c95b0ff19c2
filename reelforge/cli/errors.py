"""The exceptions the command turns into its last words: one line on stderr and an exit status."""


class CliError(Exception):
    """A failure to report to the user in one line (exit status 1)."""


class Detached(Exception):
    """Interrupted with ``--detach``: the ad runs on in the studio (exit status 0, its id shown)."""

    def __init__(self, ad_id: str) -> None:
        super().__init__(ad_id)
        self.ad_id = ad_id
