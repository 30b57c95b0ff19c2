"""What the studio asks of the generator for a scene's seed image."""

from __future__ import annotations

from reelforge.v1 import common_pb2
from services.studio import prompts


def test_seed_images_carry_no_caption_the_composer_burns_captions_in() -> None:
    """A caption drawn into the still showed twice once the composer burned the same words in
    (garbled where they overlapped), and stayed in renders whose captions were off."""
    scene = common_pb2.Scene(
        index=0,
        caption="Get yours at lumen.example",
        description="Closing shot",
        duration_seconds=5,
    )
    mood = common_pb2.Mood(name="Bright", color_palette=["#112233", "#445566", "#778899"])

    spec = prompts.seed_image(scene, mood, index=0)

    assert spec.caption == ""
    assert list(spec.color_palette) == list(mood.color_palette)
