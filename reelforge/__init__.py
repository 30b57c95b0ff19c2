"""reelforge: a creative brief in, a finished vertical video ad out.

Subpackages: ``reelforge.v1`` (generated contract code), ``reelforge.runtime``
(what every service shares) and ``reelforge.cli`` (the ``reelforge`` command).
Request rules live with the service that owns them (``services/<name>/validation.py``).
"""
