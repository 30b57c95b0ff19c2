"""The brand in every render, from the ad's brief: the end card, the logo watermark and the
captions' font and colour (the composer draws them: composer.proto's EndCard, Watermark and
CaptionStyle).

Decisions:
- An ad has an end card when its brief has a brand kit or product photos (``end_card`` in the
  render options turns it on or off): the logo, the brand's name (else the product's) as the
  headline, the brief's call to action (the last scene's caption when the call to action is
  longer than a card holds), the brand's palette (else the chosen mood's), the brand's fonts
  and the hero product photo. It covers the last 2.5 s, or a third of a shorter render (at
  least the composer's 2 s), over the last scene: the ad keeps its length.
- The watermark is asked for (``watermark``): the brand's logo, top right.
- Captions use the brand's body font (else its heading font) and highlight the spoken word in
  the brand's main colour; the text stays white, which reads on any clip.
"""

from __future__ import annotations

from reelforge.v1 import common_pb2, composer_pb2, studio_pb2

CARD_S, SHORTEST_CARD_S = 2.5, 2.0
MAX_CARD_TEXT_CHARS = 100  # composer's limit on the card's headline and call to action
MAX_CARD_COLOURS = 6


def has_brand(brief: common_pb2.CreativeBrief) -> bool:
    """Whether the brief names anything of a brand: a kit field or a product photo."""
    kit = brief.brand
    fonts = kit.heading_font or kit.body_font
    return bool(kit.name or kit.logo or kit.palette or fonts or brief.product_images)


def card_seconds(render_s: float) -> float:
    """The card's length in a ``render_s`` render: 2.5 s, or a third of a short one (≥ 2 s)."""
    return round(min(CARD_S, max(SHORTEST_CARD_S, render_s / 3)), 2)


def end_card(
    ad: studio_pb2.Ad, options: studio_pb2.RenderOptions, render_s: float, mood: common_pb2.Mood
) -> composer_pb2.EndCard | None:
    """The closing card of a ``render_s`` render, or None (no brand, or turned off)."""
    wanted = options.end_card if options.HasField("end_card") else has_brand(ad.brief)
    if not wanted:
        return None
    brief, kit = ad.brief, ad.brief.brand
    return composer_pb2.EndCard(
        logo=kit.logo,
        headline=_fit(kit.name or brief.product_name),
        call_to_action=_call_to_action(ad),
        palette=list(kit.palette or mood.color_palette)[:MAX_CARD_COLOURS],
        heading_font=kit.heading_font,
        body_font=kit.body_font,
        duration_seconds=card_seconds(render_s),
        product_image=brief.product_images[0] if brief.product_images else "",
    )


def watermark(
    ad: studio_pb2.Ad, options: studio_pb2.RenderOptions
) -> composer_pb2.Watermark | None:
    if not options.watermark or not ad.brief.brand.logo:
        return None
    return composer_pb2.Watermark(logo=ad.brief.brand.logo, corner=composer_pb2.CORNER_TOP_RIGHT)


def caption_style(brief: common_pb2.CreativeBrief) -> composer_pb2.CaptionStyle:
    kit = brief.brand
    style = composer_pb2.CaptionStyle(font_file=kit.body_font or kit.heading_font)
    if kit.palette:
        style.highlight_colour = kit.palette[0]
    return style


def _call_to_action(ad: studio_pb2.Ad) -> str:
    text = ad.brief.call_to_action.strip()
    if len(text) <= MAX_CARD_TEXT_CHARS:
        return text
    last = ad.storyboard[-1].scene.caption.strip() if ad.storyboard else ""
    return last or _fit(text)


def _fit(text: str) -> str:
    """``text`` cut at a word to what a card holds."""
    text = text.strip()
    if len(text) <= MAX_CARD_TEXT_CHARS:
        return text
    return text[: MAX_CARD_TEXT_CHARS - 1].rsplit(" ", 1)[0].rstrip() + "…"
