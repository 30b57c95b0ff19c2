"""chunks() splits id lists for IN (...) at the boundaries a caller relies on."""

from __future__ import annotations

import pytest

from reelforge.runtime.database import IN_LIST_SIZE, chunks


def test_chunks_boundaries() -> None:
    assert chunks([]) == []
    assert chunks(["a"]) == [["a"]]
    ids = [str(n) for n in range(IN_LIST_SIZE)]
    assert chunks(ids) == [ids], "exactly one full chunk"
    more = [*ids, "last"]
    assert chunks(more) == [ids, ["last"]], "one over the size starts a second chunk"
    assert chunks("abcde", 2) == ["ab", "cd", "e"], "any sequence, any size"


def test_chunks_keep_every_item_in_order() -> None:
    ids = list(range(1234))
    parts = chunks(ids, 500)
    assert [len(part) for part in parts] == [500, 500, 234]
    assert [item for part in parts for item in part] == ids


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        chunks([1, 2], 0)
