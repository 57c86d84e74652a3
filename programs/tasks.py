"""Programs' Celery tasks: thin, they call the services and return counts."""

from celery import shared_task


@shared_task
def sync_delegations():
    """Daily (celery beat): delegations that began or ended move ``Program.agency`` and the
    agencies' guardian permissions (an ended delegation's staff lose the program)."""
    from .permissions import sync_delegations as sync

    return sync()
