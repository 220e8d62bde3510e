"""Template tags for pages that show claims, in any app."""

from django import template

from .. import lifecycle, selectors

register = template.Library()


@register.inclusion_tag("includes/status_badge.html", takes_context=True)
def claim_status(context, claim) -> dict:
    """A claim's status badge as the viewer may know it: handlers see an investigation, claimants and agents a
    review (`lifecycle.shown_status`), on every page that lists claims."""
    status, label = lifecycle.shown_status(claim.status, handler=selectors.can_handle(context["request"].user))
    return {"status": status, "label": label}
