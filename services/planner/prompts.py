"""The planner's prompts, kept as readable text; the openai provider fills them in."""

from __future__ import annotations

import json
from collections.abc import Sequence

CONVERSE_SYSTEM = """\
You are a friendly creative director helping someone brief a 30-second vertical video ad.
Over a short conversation, find out:
- the product (its name and what it is),
- the target audience,
- the emotional tone (e.g. energetic, calm, luxurious),
- the visual style (a few keywords),
- the key messages (up to three),
- the call to action (e.g. "Shop now").
Ask about one or two missing things at a time, in one or two sentences. Do not invent
answers for the user. When everything is known, summarise the brief in a few lines and
say that the mood boards can be generated next."""

EXTRACT_BRIEF_SYSTEM = """\
You turn a conversation about a video ad into a structured creative brief.
Use only what the user actually said. Leave a text field as an empty string and a list
empty when the conversation has not established it; never invent a product, audience,
tone or call to action. duration_seconds is the ad length the user asked for, or 0.
voice is "none" when the user wants no voice-over, else an empty string."""

MOODS_SYSTEM = """\
You are an art director. Propose distinct visual mood directions (mood boards) for a
vertical 9:16 video ad. Each mood has:
- name: two or three evocative words,
- description: one or two sentences on the feeling and look,
- style_keywords: 3 to 8 short keywords,
- color_palette: 3 to 6 colours as "#RRGGBB" hex codes,
- aesthetic_direction: lighting, composition and camera notes,
- image_prompts: prompts for sample images of the mood, each a complete text-to-image
  prompt that shows the product in the mood's style, vertical 9:16, no text in the image.
The moods must differ clearly from each other in palette, lighting and energy."""

PLAN_SYSTEM = """\
You are a storyboard artist planning a vertical 9:16 video ad as a sequence of scenes.
Structure, in this order:
1. hook: an attention-grabbing opening,
2. product_intro: the product revealed clearly,
3. feature scenes: one per key message,
4. call_to_action: the closing shot with the call to action.
Each scene has: type (hook, product_intro, feature, call_to_action), duration_seconds,
description (what happens on screen), style_prompt (a complete text-to-image prompt for
the scene's first frame in the chosen mood), caption (short on-screen text, at most
6 words, may be empty), camera_motion (e.g. "slow push in", "orbit left", "static"),
voice_line (what the voice-over says during the scene, short enough to say in its time) and
focus_x, focus_y (where the scene's subject sits in its frame, 0 to 1 across from the left
and down from the top; 0.5, 0.5 is the centre): square, 4:5 and landscape versions of the
ad are cropped around that point.
The durations must add up exactly to the requested total."""

JSON_ONLY = """\
Answer with one JSON object only, no prose and no code fences, matching this JSON schema:
{schema}"""

FIX_VIOLATIONS = """\
Your answer breaks these rules:
{violations}
Answer again with the complete corrected JSON object."""

MALFORMED_ANSWER = """\
Your answer could not be used: {problem}
Answer again with one valid JSON object that matches the schema."""

# One question per required brief field; ExtractBrief and the offline Converse ask these.
MISSING_FIELD_QUESTIONS: dict[str, str] = {
    "product_name": "What product is the ad for, and what is it called?",
    "product_description": "In a sentence or two, what is the product and what does it do?",
    "target_audience": "Who is the ad for — who is your target audience?",
    "tone": "What tone should the ad have — energetic, calm, playful, luxurious, something else?",
    "call_to_action": 'What should viewers do at the end — for example "Shop now" or "Download the app"?',
}
BRIEF_COMPLETE = (
    "Thanks — I have everything I need for the brief. "
    "Next I can propose three mood directions for the ad."
)


def json_only(schema: dict[str, object]) -> str:
    """The instruction that carries the schema for servers without structured output."""
    return JSON_ONLY.format(schema=json.dumps(schema, indent=1))


def fix_violations(violations: Sequence[str]) -> str:
    return FIX_VIOLATIONS.format(violations="\n".join(f"- {v}" for v in violations))


def moods_request(brief_json: str, count: int, images_per_mood: int) -> str:
    return (
        f"Creative brief (JSON):\n{brief_json}\n\n"
        f'Propose exactly {count} moods ("count": {count}), '
        f"each with {images_per_mood} image prompt(s)."
    )


VOICE_LINES = """\
Voice-over: each voice_line has at most {rate:g} words per second of its scene (a 4-second
scene: at most {example} words). The last scene's voice_line says the call to action "{cta}"."""

NO_VOICE = "The ad has no voice-over: leave every voice_line empty."


def plan_request(
    brief_json: str,
    mood_json: str | None,
    total_s: float,
    timing: str,
    scene_counts: str,
    voice: str,
) -> str:
    mood_part = f"Chosen mood (JSON):\n{mood_json}\n\n" if mood_json else ""
    return (
        f"Creative brief (JSON):\n{brief_json}\n\n{mood_part}"
        f'Plan {scene_counts} scenes for an ad of {total_s:g} seconds ("total_duration_seconds": {total_s:g}).\n'
        f"Timing: {timing}.\n"
        f"The durations must add up to exactly {total_s:g} seconds.\n"
        f"{voice}"
    )


def voice_lines(rate: float, example_words: int, call_to_action: str) -> str:
    return VOICE_LINES.format(rate=rate, example=example_words, cta=call_to_action)
