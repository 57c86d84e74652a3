"""Expert pool, conflicts, assignment, scoring and ranking (issue: peer review)."""
