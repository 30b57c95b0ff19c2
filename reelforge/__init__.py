"""reelforge: a creative brief in, a finished vertical video ad out.

Subpackages: ``reelforge.v1`` (generated contract code), ``reelforge.runtime``
(what every service shares), ``reelforge.validation`` (request rules that go
with the contracts) and ``reelforge.cli`` (the ``reelforge`` command).
"""
