"""The portal's header navigation: which links each role gets, and which one is the current page.

The links name URL patterns as strings (so accounts imports no higher app); `base.html` reads `portal_nav` through
the context processor below, which builds it only when a page shows it (the admin never does).
"""

from dataclasses import dataclass
from functools import partial

from django.http import HttpRequest
from django.urls import reverse

from insurance.core.roles import Role, user_roles


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str


CUSTOMER_LINKS = (
    NavLink("Home", "home"),
    NavLink("Policies", "policies:policy-list"),
    NavLink("Claims", "claims:claim-list"),
    NavLink("Get a quote", "policies:quote-create"),
    NavLink("Profile", "accounts:profile"),
)
AGENT_LINKS = (
    NavLink("Home", "home"),
    NavLink("Customers", "accounts:customer-list"),
    NavLink("Quotes and policies", "policies:policy-list"),
    NavLink("Claims", "claims:claim-list"),
    NavLink("Renewals", "policies:renewals"),
)
STAFF_LINKS = (
    NavLink("Home", "home"),
    NavLink("Referrals", "policies:referral-queue"),
    NavLink("Claim review", "claims:review-queue"),
    NavLink("KPI dashboard", "reports:dashboard"),
    NavLink("Admin", "admin:index"),
)
ROLE_LINKS = (
    (Role.UNDERWRITER, STAFF_LINKS),
    (Role.ADMIN, STAFF_LINKS),
    (Role.AGENT, AGENT_LINKS),
    (Role.CUSTOMER, CUSTOMER_LINKS),
)


def links_for(user) -> list[NavLink]:
    """The links of every role the user holds, in role order, each once (a superuser gets the staff links)."""
    held = user_roles(user)
    chosen: list[NavLink] = []
    for role, links in ROLE_LINKS:
        if role in held or (user.is_superuser and links is STAFF_LINKS):
            chosen += [link for link in links if link not in chosen]
    return chosen or [NavLink("Home", "home")]


def build_nav(request: HttpRequest) -> list[dict]:
    """[{label, url, current}] for the signed-in user. `current` is "page" on the page itself and "true" on a
    page below a link (a claim's page under Claims), for `aria-current`; at most one link is current."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [{"label": link.label, "url": reverse(link.url_name), "current": ""} for link in links_for(user)]
    path = request.path
    exact = [item for item in items if item["url"] == path]
    if exact:
        exact[0]["current"] = "page"
    else:
        below = [item for item in items if item["url"] != "/" and path.startswith(item["url"])]
        if below:
            max(below, key=lambda item: len(item["url"]))["current"] = "true"
    return items


def portal_nav(request: HttpRequest) -> dict:
    """Context processor: `portal_nav`, built lazily (the template calls it the first time it is read)."""
    return {"portal_nav": partial(build_nav, request)}
