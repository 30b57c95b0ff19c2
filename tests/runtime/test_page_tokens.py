"""One page-token encoding and one keyset query for every list, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Float, MetaData, String, Table, select
from sqlalchemy.types import TypeEngine

from reelforge.runtime import page_tokens
from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.errors import InvalidArgument


def test_next_page_has_a_token_only_when_more_rows_were_fetched() -> None:
    rows = [(30.0, "c"), (20.0, "b"), (10.0, "a")]
    page, token = page_tokens.next_page(rows, 3, lambda row: row)
    assert (page, token) == (rows, "")
    page, token = page_tokens.next_page(rows, 2, lambda row: row)
    assert page == rows[:2]
    assert page_tokens.after(token) == (20.0, "b"), "the token names the last row of the page"
    assert page_tokens.next_page([], 2, lambda row: row) == ([], "")


def test_no_token_is_the_first_page_and_a_bad_one_is_invalid_argument() -> None:
    assert page_tokens.after("") is None
    with pytest.raises(InvalidArgument) as bad:
        page_tokens.after("not-a-token")
    assert [v.field for v in bad.value.violations] == ["page_token"]


@pytest.mark.parametrize("position_type", [BigInteger, Float], ids=["micros", "seconds"])
async def test_pages_walk_every_row_once_newest_first(
    data_dir: Path, position_type: type[TypeEngine[Any]]
) -> None:
    rows = Table(
        "rows", MetaData(), Column("id", String(8), primary_key=True), Column("at", position_type)
    )
    engine = create_engine(database_url(None, data_dir, "pages"))
    # Ties on the position (same microsecond) are ordered by id, so none is skipped or repeated.
    stored = [(f"r{n:02d}", 1_700_000_000_000_000 + n // 3) for n in range(10)]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(rows.metadata.create_all)
            await conn.execute(rows.insert(), [{"id": i, "at": at} for i, at in stored])
        seen: list[str] = []
        token = ""
        while True:
            query = select(rows).order_by(rows.c.at.desc(), rows.c.id.desc()).limit(4)
            if (start := page_tokens.after(token)) is not None:
                query = query.where(page_tokens.past(rows.c.at, rows.c.id, start))
            async with engine.connect() as conn:
                fetched = (await conn.execute(query)).all()
            page, token = page_tokens.next_page(fetched, 3, lambda row: (row.at, row.id))
            seen += [row.id for row in page]
            if not token:
                break
    finally:
        await engine.dispose()
    assert seen == [i for i, _ in sorted(stored, key=lambda r: (r[1], r[0]), reverse=True)]
