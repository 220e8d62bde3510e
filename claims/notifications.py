"""Emails to the claimant: the decision, and a request for more documents (console backend unless configured)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from insurance.core import outbox

from .models import Claim

KINDS = ("decision", "documents_requested")


def send_claim_email(*, claim: Claim, kind: str, message: str = "") -> bool:
    if kind not in KINDS:
        raise ValueError(f"unknown claim email {kind!r}")
    recipient = claim.claimant.email
    if not recipient:
        return False
    context = {
        "claim": claim,
        "claimant": claim.claimant,
        "message": message,
        "reasons": [reason for reason in claim.decision_reasons if reason.get("check") != "fraud"],
    }
    subject = render_to_string(f"claims/email/{kind}_subject.txt", context).strip()
    body = render_to_string(f"claims/email/{kind}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    return True


def notify_after_commit(claim: Claim, kind: str, message: str = "") -> None:
    from .tasks import send_claim_email_task

    outbox.enqueue(send_claim_email_task, claim.pk, kind, message)
