"""The render pipelined with the clips (issue 17): as clips land the studio has the composer
encode their pieces (PrepareSegments), so the compose after the last clip encodes none."""

from __future__ import annotations

import logging
import re

import pytest

from tests.studio.helpers import Client, create_ad, watch_ad


async def test_the_final_compose_joins_pieces_prepared_as_the_clips_landed(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.composer")
    caplog.set_level(logging.INFO, logger="services.studio.clips_ahead")
    ad = await create_ad(client)
    final = (await watch_ad(client, ad["id"]))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")

    messages = [record.getMessage() for record in caplog.records]
    prepared = [m for m in messages if m.startswith("prepared ")]
    encoded_ahead = sum(int(m.split()[1]) for m in prepared)
    pieces = 2 * len(final["storyboard"]) - 1  # a body per scene, a fade between two
    assert encoded_ahead == pieces, messages
    # The compose found every piece cached: it encoded the sound and joined.
    (composed,) = [m for m in messages if re.fullmatch(r"\d+ of \d+ pieces encoded.*", m)]
    assert composed.startswith(f"0 of {pieces} pieces encoded"), composed
