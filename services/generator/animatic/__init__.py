"""Offline animatic renderers: deterministic stills, Ken Burns clips and a synthesised music bed.

Pure media functions, used by the generator when no provider key is set (see README.md here).
"""

from services.generator.animatic._common import RenderError
from services.generator.animatic.clips import Motion, plan_motion, render_clip
from services.generator.animatic.images import (
    compose_image,
    derive_palette,
    render_image,
    render_image_async,
    render_image_bytes,
)
from services.generator.animatic.music import (
    MusicPlan,
    plan_music,
    render_music,
    synthesize_pcm,
)

__all__ = [
    "Motion",
    "MusicPlan",
    "RenderError",
    "compose_image",
    "derive_palette",
    "plan_motion",
    "plan_music",
    "render_clip",
    "render_image",
    "render_image_async",
    "render_image_bytes",
    "render_music",
    "synthesize_pcm",
]
