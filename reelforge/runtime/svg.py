"""SVG logos and product photos as PNG: sniffing and rasterising, shared by the composer (end
card, watermark) and the generator (offline animatic stills, hosted models' image inputs).

An SVG is rasterised by FFmpeg's librsvg decoder (Debian's FFmpeg is built with it, and FFmpeg
is already every media service's one system dependency), at the width it is drawn at, so it
stays sharp and keeps its transparency; no cairo or other rasteriser is added. The decoder
renders the document from memory with no base file, so librsvg loads nothing an SVG refers to
(``file:``, relative or remote images stay blank: an upload cannot read the server's files)
and runs no script (librsvg has no script engine). A document that takes longer than
``SVG_TIMEOUT_S`` is given up. Failures raise :class:`SvgError` with a plain reason; callers
name their own request field.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SVG_MIME = "image/svg+xml"
SVG_TIMEOUT_S = 30
_SNIFF_BYTES = 16384  # an exporter's comments and DOCTYPE come before <svg


class SvgError(Exception):
    """An SVG that could not be rasterised; the message says why, without a field name."""


def is_svg(path: Path) -> bool:
    """An SVG document starts with an XML prolog, a comment or ``<svg`` itself."""
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES).lower()
    return b"<svg" in head


def rasterise_svg(path: Path, width: int, out_png: Path, *, timeout: float = SVG_TIMEOUT_S) -> Path:
    """The SVG at ``path`` drawn ``width`` pixels wide (aspect kept) as a transparent PNG at
    ``out_png`` (overwritten); returns ``out_png``."""
    # Artifacts are stored without a file name extension: the demuxer is named, not guessed.
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "svg_pipe"]
    argv += ["-width", str(max(1, width)), "-keep_ar", "1"]
    argv += ["-i", str(path), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(out_png)]
    out_png.unlink(missing_ok=True)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SvgError(f"the SVG took longer than {timeout:g} s to rasterise") from None
    except (OSError, subprocess.SubprocessError) as error:
        raise SvgError(f"the SVG could not be rasterised ({error})") from None
    if done.returncode != 0 or not out_png.exists():
        detail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SvgError(f"not a readable SVG ({detail[0][:200]})")
    return out_png
