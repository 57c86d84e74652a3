"""Celery task: render a contract's PDF (used in bulk, e.g. by benchmarks/contracts.py)."""

import hashlib

from celery import shared_task


@shared_task(name="finance.render_contract", acks_late=True)
def render_contract(contract_id, language="zh-hans"):
    """Render the contract (任务书) and answer its size and SHA-256; stores nothing."""
    from .models import Contract
    from .pdf import render_contract_pdf

    contract = Contract.objects.select_related(
        "project__application__call__program",
        "project__application__applicant",
        "project__application__institution",
        "pi_signed_by",
        "institution_signed_by",
        "officer_signed_by",
    ).get(pk=contract_id)
    pdf = render_contract_pdf(contract, language=language)
    return {"id": contract_id, "bytes": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()}
