"""Client-visible errors never name server paths: tool output is cut to file names."""

from __future__ import annotations

import grpc

from reelforge.runtime.errors import FailedPrecondition, redact_paths


def test_paths_become_file_names_and_urls_stay() -> None:
    text = (
        "FFmpeg failed: /data/artifacts/.tmp/host.1.abc.mp4: Invalid data found; "
        "see https://example.com/a/b/c.png and clips[0]/source at 1/2 speed"
    )
    assert redact_paths(text) == (
        "FFmpeg failed: host.1.abc.mp4: Invalid data found; "
        "see https://example.com/a/b/c.png and clips[0]/source at 1/2 speed"
    )


def test_status_messages_are_redacted() -> None:
    error = FailedPrecondition("cannot read '/srv/reelforge/data/composer.db': locked")
    status = error.to_status()
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    assert status.details == "cannot read 'composer.db': locked"
