"""EstimateAd: the quote for a whole ad before anything is paid, priced by the generator.

The plan does not exist yet, so the quote takes the most scenes a plan may have (7), each
scene's clip lengthened by its share of the crossfades: an upper bound, never a surprise.
"""

from __future__ import annotations

import math

from reelforge.v1 import common_pb2, generator_pb2, studio_pb2
from services.planner.plan_rules import MAX_SCENES
from services.studio import prompts
from services.studio.children import Children

_S = studio_pb2
_DEFAULT_MOODS = 3
# The planner's ceiling for a voice-over: 2.3 words a second of the ad; priced as long words
# (hosted speech is priced per character), so the quote stays an upper bound.
_WORDS_PER_S = 2.3
_PRICED_WORD = "voiceover "


class Estimator:
    def __init__(self, children: Children) -> None:
        self._children = children

    async def quote(
        self, brief: common_pb2.CreativeBrief, options: studio_pb2.AdOptions
    ) -> studio_pb2.EstimateAdResponse:
        total_s = options.duration_seconds
        moods = options.mood_count or _DEFAULT_MOODS
        scene_s = total_s / MAX_SCENES
        targets = prompts.clip_targets(
            [scene_s] * MAX_SCENES, prompts.transition_seconds(options.render)
        )
        image = generator_pb2.ImageSpec(prompt=brief.product_name or "image")
        parts = [
            (
                _S.AD_STEP_MOODS,
                f"{moods} mood sample images",
                self._images([image] * moods, options),
            ),
            (
                _S.AD_STEP_SEED_IMAGES,
                f"{MAX_SCENES} seed images",
                self._images([image] * MAX_SCENES, options),
            ),
            (
                _S.AD_STEP_CLIPS_AND_MUSIC,
                f"{MAX_SCENES} clips",
                generator_pb2.EstimateCostRequest(
                    clips=generator_pb2.GenerateClipsRequest(
                        clips=[
                            generator_pb2.ClipSpec(prompt="clip", duration_seconds=round(t, 2))
                            for t in targets
                        ],
                        tier=options.tier,
                        aspect_ratio=options.aspect_ratio,
                    )
                ),
            ),
            (
                _S.AD_STEP_CLIPS_AND_MUSIC,
                f"{total_s:g} s of music",
                generator_pb2.EstimateCostRequest(
                    music=generator_pb2.GenerateMusicRequest(
                        prompt="music", duration_seconds=total_s, tier=options.tier
                    )
                ),
            ),
        ]
        if _speaks(brief, options):
            words = math.floor(_WORDS_PER_S * total_s)
            per_line = math.ceil(words / MAX_SCENES)
            line = generator_pb2.VoiceLine(text=(_PRICED_WORD * per_line).strip())
            parts.append(
                (
                    _S.AD_STEP_SEED_IMAGES,
                    f"voice-over, {MAX_SCENES} lines of ≤ {per_line} words",
                    generator_pb2.EstimateCostRequest(
                        voice=generator_pb2.GenerateVoiceRequest(
                            lines=[line] * MAX_SCENES, tier=options.tier
                        )
                    ),
                )
            )
        answer = studio_pb2.EstimateAdResponse()
        for step, what, request in parts:
            priced = await self._children.estimate(request)
            answer.lines.add(
                step=step, what=what, estimated_cost_micros=priced.estimated_cost_micros
            )
            answer.estimated_cost_micros += priced.estimated_cost_micros
        return answer

    @staticmethod
    def _images(
        specs: list[generator_pb2.ImageSpec], options: studio_pb2.AdOptions
    ) -> generator_pb2.EstimateCostRequest:
        return generator_pb2.EstimateCostRequest(
            images=generator_pb2.GenerateImagesRequest(
                images=specs, tier=options.tier, aspect_ratio=options.aspect_ratio
            )
        )


def _speaks(brief: common_pb2.CreativeBrief, options: studio_pb2.AdOptions) -> bool:
    """Voice on in the options (unset means on) and not "none" in the brief."""
    on = not options.HasField("voice") or options.voice
    return on and brief.voice.strip().lower() != "none"
