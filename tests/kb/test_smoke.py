from __future__ import annotations

from kb.services import response_approve, response_submit
from tests.factories import ResponseFactory


def test_editor_takes_a_draft_through_review_to_approved(editor):
    response = ResponseFactory(status="draft")
    response_submit(response=response, user=editor)
    response_approve(response=response, approved_by=editor)
    response.refresh_from_db()
    assert response.status == "approved"
    assert response.approved_by == editor
