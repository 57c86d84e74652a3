"""Work that must follow a commit (mail, follow-up tasks), recorded in the same transaction.

``outbox.dispatch.enqueue(task, *args, **kwargs)`` writes an ``outbox.Job`` row beside the
caller's changes and publishes it to Celery after the commit; a sweeper publishes what the
broker never took or lost. The job runs at most once to completion (``outbox.dispatch.run``):
its writes, mail included (django-mailer's queue), commit together with its done mark.
"""
