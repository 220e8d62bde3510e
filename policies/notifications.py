"""Emails to the customer about their policy, rendered from templates (console backend unless configured)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from insurance.core import outbox

from .models import Policy

KINDS = ("issued", "renewal_offer", "lapsed", "cancelled")


def send_policy_email(*, policy: Policy, kind: str) -> bool:
    """Send the `kind` email about `policy` to its holder; False when the holder has no email address."""
    if kind not in KINDS:
        raise ValueError(f"unknown policy email {kind!r}")
    recipient = policy.holder.email
    if not recipient:
        return False
    context = {"policy": policy, "holder": policy.holder, "product": policy.product}
    subject = render_to_string(f"policies/email/{kind}_subject.txt", context).strip()
    body = render_to_string(f"policies/email/{kind}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    return True


def notify_after_commit(policy: Policy, kind: str) -> None:
    """Queue the email through the outbox: sent once the transaction commits, so a rolled-back change never mails
    anyone, and a broker outage delays it instead of losing it."""
    from .tasks import send_policy_email_task

    outbox.enqueue(send_policy_email_task, policy.pk, kind)
