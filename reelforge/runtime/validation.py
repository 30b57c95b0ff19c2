"""Collects every field violation of a request before refusing it, so a caller fixes all at once."""

from __future__ import annotations

from reelforge.runtime.errors import FieldViolation, InvalidArgument

MAX_TEXT_CHARS = 2000
# Ids are ours (uuid hex); a longer one cannot exist, and echoing 8,000 characters back in a
# NOT_FOUND overflows gRPC's metadata limit (the caller saw RESOURCE_EXHAUSTED, not the problem).
MAX_ID_CHARS = 64
MAX_URL_CHARS = 4096  # of any URL input (clip sources, seed and reference images)


class Violations:
    """Gathers ``FieldViolation``s; ``raise_if_any()`` raises one InvalidArgument naming them all."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self._items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Records a violation when ``ok`` is false; returns ``ok``."""
        if not ok:
            self.add(field, description)
        return ok

    def text(
        self, value: str, field: str, *, required: bool, max_chars: int = MAX_TEXT_CHARS
    ) -> None:
        """A text field: non-blank when required, and at most ``max_chars`` characters."""
        if required and not value.strip():
            self.add(field, "must not be empty")
        elif len(value) > max_chars:
            self.add(field, f"must be at most {max_chars} characters (got {len(value)})")

    def identifier(self, value: str, field: str) -> None:
        """An id of something stored: required, at most MAX_ID_CHARS, no control characters."""
        if not value.strip():
            self.add(field, "must not be empty")
        elif len(value) > MAX_ID_CHARS:
            self.add(field, f"must be at most {MAX_ID_CHARS} characters (got {len(value)})")
        elif not value.isprintable():
            self.add(field, "must not contain control characters")

    def range(self, value: float, field: str, low: float, high: float, unit: str = "") -> None:
        """A number within [low, high]."""
        if not low <= value <= high:
            suffix = f" {unit}" if unit else ""
            self.add(field, f"must be between {low:g} and {high:g}{suffix} (got {value:g})")

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidArgument(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)
