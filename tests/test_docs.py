"""The docs' tables render as tables: a blank line inside a Markdown table
ends it, and the rows after it become a paragraph."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def numbered_tables(text):
    """The Markdown tables of ``text`` whose first column is a row number,
    each as its list of numbers (a table ends at the first line that is not a row)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            current = [] if current is None else current
            match = re.match(r"\|\s*(\d+)\s*\|", line)
            if match:
                current.append(int(match.group(1)))
        elif current is not None:
            if current:
                tables.append(current)
            current = None
    if current:
        tables.append(current)
    return tables


def test_the_error_table_is_one_table_numbered_in_order():
    tables = numbered_tables((DOCS / "errors.md").read_text())
    assert len(tables) == 1, [t[:1] for t in tables]
    assert tables[0] == list(range(1, len(tables[0]) + 1))


@pytest.mark.parametrize("text, expected", [
    ("| # | a |\n| --- | --- |\n| 1 | x |\n| 2 | y |\n", [[1, 2]]),
    ("| # | a |\n| --- | --- |\n| 1 | x |\n\n| 2 | y |\n", [[1], [2]]),
])
def test_a_blank_line_splits_a_table(text, expected):
    assert numbered_tables(text) == expected
