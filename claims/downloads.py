"""A claim document's bytes over HTTP, the same way for the API's download and the portal's document link: only
to those who may see the claim, under the name of what the file really is, sandboxed and never sniffed (a document
is whatever a claimant uploaded)."""

from django.http import FileResponse, Http404

from accounts.choices import DataAccessAction
from accounts.services import record_data_access

from . import selectors
from .models import ClaimDocument


def download_name(document: ClaimDocument) -> str:
    """The display name with the extension of what the file really is (evil.html holding a PNG is evil.png)."""
    stem = document.original_name.rsplit(".", 1)[0] if "." in document.original_name else document.original_name
    return f"{stem or 'document'}.{'jpg' if document.kind == 'jpeg' else document.kind}"


def document_response(*, user, claim_pk, document_pk, inline_kinds: frozenset[str] = frozenset()) -> FileResponse:
    """Document `document_pk` of claim `claim_pk` as an attachment, or inline when its kind is in `inline_kinds`.
    Http404 when it is not among the documents the user may see, when an id is not a number, or when its file is
    gone. The caller checks the role's permission to open documents first. Each document served is recorded in the
    read audit (accounts.DataAccessLog), inline or downloaded."""
    try:
        document = selectors.document_for_download(user=user, claim_pk=claim_pk, document_pk=document_pk)
        handle = document.file.open("rb")
    except (ClaimDocument.DoesNotExist, ValueError, FileNotFoundError):
        raise Http404("No such document among those you may see.") from None
    record_data_access(actor=user, action=DataAccessAction.DOWNLOAD, objects=[document])
    response = FileResponse(
        handle,
        as_attachment=document.kind not in inline_kinds,
        filename=download_name(document),
        content_type=document.mime,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
