"""Who may take which step on a review assignment."""


def is_assigned_reviewer(assignment, user):
    return user is not None and user.is_authenticated and assignment.reviewer_id == user.pk


def nobody(assignment, user):
    """Steps only the system takes (celery beat), through the service with ``user=None``."""
    return user is None
