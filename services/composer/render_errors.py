"""Why a render failed, in words a client can act on (names the clip's index when it is at fault)."""

from __future__ import annotations

from reelforge.runtime.errors import redact_paths


class RenderFailed(Exception):
    """The composition cannot be rendered; the message becomes Composition.error.

    FFmpeg's and ffprobe's words name files by absolute path: a client reads only file names.
    """

    def __init__(self, message: str) -> None:
        message = redact_paths(message)
        super().__init__(message)
        self.message = message
        self.field: str | None = None  # the request's field at fault, when one is
        self.problem = message

    @classmethod
    def at(cls, field: str, problem: str) -> RenderFailed:
        """A failure caused by one input, e.g. ``clips[2]: has no video stream``."""
        failed = cls(f"{field}: {problem}")
        failed.field, failed.problem = field, redact_paths(problem)
        return failed
