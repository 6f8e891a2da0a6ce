"""The Django admin for content editors: every write goes through kb.services."""

from kb.admin import brands, departments, examples, issues, responses

__all__ = ["brands", "departments", "examples", "issues", "responses"]
