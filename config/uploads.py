"""Uploaded files: checked by their content (libmagic), never by their name, and served so
that a browser can neither run nor sniff them (issue 7; docs/security.md)."""

import magic
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
#: What a stored file of each type is named with.
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
PDF_OR_IMAGE = (PDF, JPEG, PNG)
#: Bytes libmagic reads; enough for every type above.
SNIFF_BYTES = 8192


def sniff(upload):
    """The MIME type of ``upload``'s content, as libmagic reads its first bytes."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return magic.from_buffer(head, mime=True)


def _refusal(allowed):
    if tuple(allowed) == (PDF,):
        return _("Only PDF files are accepted.")
    return _("Only PDF, JPEG or PNG files are accepted.")


def check_upload(upload, field, allowed=(PDF,), max_bytes=None):
    """``(extension, mime)`` of an accepted upload; otherwise ValidationError on ``field``
    (the file is larger than ``max_bytes``, or its content is none of ``allowed``)."""
    if max_bytes is not None and upload.size > max_bytes:
        raise ValidationError(
            {field: [_("The file is larger than %(mb)d MB.") % {"mb": max_bytes // (1024 * 1024)}]}
        )
    mime = sniff(upload)
    if mime not in allowed:
        raise ValidationError({field: [_refusal(allowed)]}, code="file_type")
    return EXTENSIONS[mime], mime


class ContentTypeValidator:
    """Form-field validator: the upload's content is one of ``allowed`` (shown inline)."""

    def __init__(self, allowed=(PDF,)):
        self.allowed = tuple(allowed)

    def __call__(self, upload):
        if upload and sniff(upload) not in self.allowed:
            raise ValidationError(_refusal(self.allowed), code="file_type")


def protect_download(response):
    """Headers for a response carrying an uploaded file: never sniffed into another type,
    never run as a page (sandboxed, nothing loaded), never cached by shared caches."""
    from .security import DOWNLOAD_CSP

    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response
