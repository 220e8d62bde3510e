"""The permission matrix: every API route and portal page, asked by every persona about objects owned by Alice.

Each route has one row of expected statuses, one per persona in `PERSONAS` order. A route without a row fails
("every route is in the matrix"), and so does a row for a route that no longer exists. Statuses: 200 seen, 302 to the
login page (anonymous on the portal), 401 anonymous on the API, 403 the role may not, 404 out of the persona's scope
(or nothing to show it), 405 the page is POST only.

Further tests: fields kept for claim handlers never reach Alice or her agent, and protected fields (status, holder,
agent, reserve, assignment) cannot be written by those who may not.
"""

import json
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from claims.choices import ClaimStatus, DecisionOutcome
from claims.models import Claim, ClaimNote
from fraud.models import FraudScore
from policies.models import Policy
from tests.claims.conftest import stored_document
from tests.fraud.factories import model_version
from tests.reports import conftest as reports_fixtures

# Fixtures of tests/reports: Alice's small book, and clients with an analytics token.
book = reports_fixtures.book
analytics_client = reports_fixtures.analytics_client

PERSONAS = ("anonymous", "alice", "bob", "alice_agent", "other_agent", "underwriter", "admin", "analyst", "outsider")

# fmt: off
# What each persona gets from a GET of each API route, about Alice's object where the route names one.
#                                                   anon alice bob  a_ag  o_ag  uw   admin analyst outsider
API_MATRIX: dict[str, tuple[int, ...]] = {
    "/api/accounts/me/":                              (401, 200, 200, 200, 200, 200, 200, 403, 200),
    "/api/accounts/customers/":                       (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/accounts/customers/{id}/":                  (401, 200, 404, 200, 404, 200, 200, 403, 403),
    "/api/accounts/agents/":                          (401, 403, 403, 200, 200, 200, 200, 403, 403),
    "/api/accounts/agents/{id}/":                     (401, 403, 403, 200, 404, 200, 200, 403, 403),
    "/api/policies/":                                 (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/policies/{id}/":                            (401, 200, 404, 200, 404, 200, 200, 403, 403),
    "/api/policies/referrals/":                       (401, 403, 403, 403, 403, 200, 200, 403, 403),
    "/api/policies/products/":                        (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/policies/products/{code}/":                 (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/claims/":                                   (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/claims/{id}/":                              (401, 200, 404, 200, 404, 200, 200, 403, 403),
    "/api/claims/{id}/documents/{document_pk}/download/": (401, 200, 404, 200, 404, 200, 200, 403, 403),
    "/api/claims/review-queue/":                      (401, 403, 403, 403, 403, 200, 200, 403, 403),
    # Fraud: customers and agents get an empty list and 404, never a sign that scoring exists; analytics
    # readers read scores only through /api/analytics/fraud-scores/.
    "/api/fraud/scores/":                             (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/fraud/scores/{id}/":                        (401, 404, 404, 404, 404, 200, 200, 403, 403),
    "/api/fraud/models/":                             (401, 200, 200, 200, 200, 200, 200, 403, 403),
    "/api/fraud/models/{id}/":                        (401, 404, 404, 404, 404, 200, 200, 403, 403),
    # Analytics: agents read their own book (never fraud scores, reserves or the straight-through rate), staff
    # and analytics readers the whole book; customers and users without a role may not.
    **{
        f"/api/analytics/{feed}/":                    (401, 403, 403, 200, 200, 200, 200, 200, 403)
        for feed in ("claims", "customers", "instalments", "payments", "policies", "dictionary")
    },
    **{
        f"/api/analytics/{feed}/":                    (401, 403, 403, 403, 403, 200, 200, 200, 403)
        for feed in ("fraud-scores", "reserves")
    },
    **{
        f"/api/analytics/kpis/{kpi}/":                (401, 403, 403, 200, 200, 200, 200, 200, 403)
        for kpi in ("agents", "cycle-time", "frequency-severity", "loss-ratio", "premium", "renewal-retention")
    },
    **{
        f"/api/analytics/kpis/{kpi}/":                (401, 403, 403, 403, 403, 200, 200, 200, 403)
        for kpi in ("fraud", "straight-through")
    },
}
# Documentation of the API: the same for everyone (the schema lists routes, never data).
API_DOCS = {"/api/schema/", "/api/docs/", "/api/redoc/"}

# Portal pages by URL name.
#                                                   anon alice bob  a_ag  o_ag  uw   admin analyst outsider
PORTAL_MATRIX: dict[str, tuple[int, ...]] = {
    # Analytics readers are confined to the analytics API: every portal page answers them 403.
    "home":                                           (302, 200, 200, 200, 200, 200, 200, 403, 200),
    "accounts:profile":                               (302, 200, 200, 200, 200, 200, 200, 403, 200),
    "accounts:customer-list":                         (302, 403, 403, 200, 200, 200, 200, 403, 403),
    "accounts:customer-detail":                       (302, 200, 404, 200, 404, 200, 200, 403, 403),
    "policies:policy-list":                           (302, 200, 200, 200, 200, 200, 200, 403, 403),
    "policies:quote-create":                          (302, 200, 200, 200, 200, 403, 403, 403, 403),
    "policies:renewals":                              (302, 403, 403, 200, 200, 200, 200, 403, 403),
    "policies:referral-queue":                        (302, 403, 403, 403, 403, 200, 200, 403, 403),
    "policies:referral-decide":                       (302, 403, 403, 403, 403, 200, 200, 403, 403),
    "policies:policy-detail":                         (302, 200, 404, 200, 404, 200, 200, 403, 403),
    "policies:policy-schedule":                       (302, 200, 404, 200, 404, 200, 200, 403, 403),
    "policies:policy-bind":                           (302, 200, 404, 200, 404, 403, 403, 403, 403),
    "policies:policy-action":                         (302, 403, 403, 403, 403, 405, 405, 403, 403),  # POST only
    "claims:claim-list":                              (302, 200, 200, 200, 200, 200, 200, 403, 403),
    "claims:claim-create":                            (302, 200, 200, 200, 200, 403, 403, 403, 403),
    "claims:review-queue":                            (302, 403, 403, 403, 403, 200, 200, 403, 403),
    "claims:claim-detail":                            (302, 200, 404, 200, 404, 200, 200, 403, 403),
    "claims:claim-review":                            (302, 403, 403, 403, 403, 200, 200, 403, 403),
    "claims:document-file":                           (302, 200, 404, 200, 404, 200, 200, 403, 403),
    "reports:dashboard":                              (302, 403, 403, 403, 403, 200, 200, 403, 403),
    "reports:customer-360":                           (302, 403, 403, 200, 404, 200, 200, 403, 403),
}

# Writes to the API about Alice's objects: 0 marks a persona who may (not exercised here: other tests do); every
# other persona is refused with the status shown, and nothing changes.
#                                                           anon alice bob  a_ag  o_ag  uw   admin analyst outsider
WRITE_MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    ("patch", "/api/accounts/customers/{id}/"):               (401, 0,   404, 0,   404, 0,   0,   403, 403),
    # The API's login: anyone may ask, the body's credentials decide (an empty body is 400); analytics credentials
    # are refused as everywhere outside /api/analytics/. tests/accounts/test_token_login.py: success and lockout.
    ("post", "/api/accounts/token/"):                         (400, 400, 400, 400, 400, 400, 400, 403, 400),
    ("post", "/api/claims/"):                                 (401, 0,   0,   0,   0,   0,   0,   403, 403),
    ("post", "/api/claims/{id}/documents/"):                  (401, 0,   404, 0,   404, 0,   0,   403, 403),
    **{
        ("post", f"/api/claims/{{id}}/{action}/"):            (401, 403, 403, 403, 403, 0,   0,   403, 403)
        for action in ("approve", "assign", "close", "deny", "investigate", "investigation-outcome", "notes",
                       "partially-approve", "pay", "reopen", "request-documents", "reserve", "verify-field")
    },
    ("post", "/api/policies/quote/"):                         (401, 0,   0,   0,   0,   0,   0,   403, 403),
    ("post", "/api/policies/{id}/bind/"):                     (401, 0,   404, 0,   404, 0,   0,   403, 403),
    ("post", "/api/policies/{id}/renew/"):                    (401, 0,   404, 0,   404, 0,   0,   403, 403),
    ("post", "/api/policies/{id}/cancel/"):                   (401, 0,   404, 0,   404, 0,   0,   403, 403),
    ("post", "/api/policies/{id}/endorse/"):                  (401, 0,   404, 0,   404, 0,   0,   403, 403),
    **{
        ("post", f"/api/policies/{{id}}/{action}/"):          (401, 403, 403, 403, 403, 0,   0,   403, 403)
        for action in ("approve-referral", "decline-referral", "pay", "reinstate")
    },
}
# Bodies valid enough that a refusal is about who asks, not about what was sent.
WRITE_BODIES = {
    "/api/policies/{id}/cancel/": {"reason": "Vehicle sold"},
    "/api/policies/{id}/endorse/": {
        "kind": "deductible",
        "effective_date": "2027-03-01",
        "changes": {"coverage": "collision", "deductible": "250.00"},
        "reason": "Customer asked",
    },
}
# fmt: on
PORTAL_NAMESPACES = ("accounts", "policies", "claims", "reports")

# Fields of a claim that only claim handlers see.
HANDLER_ONLY = {
    "fraud_risk",
    "reserve_amount",
    "investigation_outcome",
    "assigned_handler",
    "notes",
    "priority",
    "decided_by_person",
}


# --- the routes ---------------------------------------------------------------------------------------------


def api_get_routes() -> list[str]:
    """Every path of the OpenAPI schema with a GET operation, plus the documentation routes outside it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, operations in schema["paths"].items() if "get" in operations)


def api_write_routes() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    )


def portal_url_names() -> list[str]:
    resolver = get_resolver()
    names = ["home"]
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in PORTAL_NAMESPACES:
            names += [
                f"{entry.namespace}:{pattern.name}"
                for pattern in entry.url_patterns
                if isinstance(pattern, URLPattern) and pattern.name
            ]
    return sorted(names)


# --- the book and the clients -------------------------------------------------------------------------------


@pytest.fixture
def world(book, personas, settings, tmp_path) -> SimpleNamespace:
    """Alice's book (tests/reports/conftest.py) with a document on her paid claim, a note, and a fraud model."""
    settings.MEDIA_ROOT = tmp_path
    document = stored_document(claim=book.paid, uploaded_by=personas.alice)
    ClaimNote.objects.create(claim=book.investigated, author=personas.underwriter, text="Handler-only note")
    model = model_version(actor=personas.admin)
    claim = book.investigated
    path_ids = {
        "/api/accounts/customers/{id}/": {"id": personas.alice.customer_profile.pk},
        "/api/accounts/agents/{id}/": {"id": personas.alice_agent.agent_profile.pk},
        "/api/policies/{id}/": {"id": book.alice_policy.pk},
        "/api/claims/{id}/": {"id": claim.pk},
        "/api/policies/products/{code}/": {"code": book.product.code},
        "/api/fraud/scores/{id}/": {"id": FraudScore.objects.get(claim=claim).pk},
        "/api/fraud/models/{id}/": {"id": model.pk},
        "/api/claims/{id}/documents/{document_pk}/download/": {"id": book.paid.pk, "document_pk": document.pk},
    }
    portal_args = {
        "accounts:customer-detail": [personas.alice.customer_profile.pk],
        "reports:customer-360": [personas.alice.customer_profile.pk],
        "policies:referral-decide": [book.alice_policy.pk],
        "policies:policy-detail": [book.alice_policy.pk],
        "policies:policy-schedule": [book.alice_policy.pk],
        "policies:policy-bind": [book.alice_policy.pk],
        "policies:policy-action": [book.alice_policy.pk, "cancel"],
        "claims:claim-detail": [claim.pk],
        "claims:claim-review": [claim.pk],
        "claims:document-file": [book.paid.pk, document.pk],
    }
    alices = [book.paid, book.investigated, book.open_claim]
    marks = {*(item.number for item in alices), book.alice_policy.number, personas.alice.email}
    handler = personas.underwriter
    handler_marks = {"Handler-only note", "Reported late", handler.email, handler.get_full_name()} - {""}
    return SimpleNamespace(
        book=book,
        claim=claim,
        document=document,
        path_ids=path_ids,
        portal_args=portal_args,
        alice_marks=marks,
        handler_marks=handler_marks,
    )


def user_of(personas, persona: str):
    return None if persona == "anonymous" else getattr(personas, persona)


def api_as(api_client, analytics_client, personas, persona: str, path: str) -> APIClient:
    """The API client of a persona: an analytics token for the analytics reader on /api/analytics/, the user's own
    API token otherwise."""
    if persona == "analyst" and path.startswith("/api/analytics/"):
        return analytics_client(personas.analyst)
    return api_client(user_of(personas, persona))


def fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match.group(1)]), path)


def table(observed: dict[str, tuple[int, ...]]) -> str:
    return "\n".join(f"{route:52} {statuses}" for route, statuses in observed.items())


# --- the matrix ---------------------------------------------------------------------------------------------


def test_every_route_is_in_the_matrix(db):
    api_routes = set(api_get_routes())
    assert api_routes - API_DOCS - set(API_MATRIX) == set(), "API routes without a row in API_MATRIX"
    assert set(API_MATRIX) - api_routes == set(), "API_MATRIX rows for routes that no longer exist"
    assert len(PERSONAS) == 9
    assert all(len(row) == len(PERSONAS) for row in API_MATRIX.values())
    writes = set(api_write_routes())
    assert writes - set(WRITE_MATRIX) == set(), "API writes without a row in WRITE_MATRIX"
    assert set(WRITE_MATRIX) - writes == set(), "WRITE_MATRIX rows for writes that no longer exist"
    pages = set(portal_url_names())
    assert pages - set(PORTAL_MATRIX) == set(), "portal pages without a row in PORTAL_MATRIX"
    assert set(PORTAL_MATRIX) - pages == set(), "PORTAL_MATRIX rows for pages that no longer exist"
    assert all(len(row) == len(PERSONAS) for row in PORTAL_MATRIX.values())


def test_every_api_route_answers_every_persona_as_the_matrix_says(world, personas, api_client, analytics_client):
    observed = {}
    for route in api_get_routes():
        if route in API_DOCS:
            continue
        url = fill(route, world.path_ids.get(route, {}))
        row = []
        for persona in PERSONAS:
            response = api_as(api_client, analytics_client, personas, persona, route).get(url)
            row.append(response.status_code)
            if response.status_code == 200 and "download" not in route:
                hold_back(world, persona, url, response.content.decode(), keys=json_keys(response.json()))
        observed[route] = tuple(row)
    expected = {route: API_MATRIX[route] for route in observed}
    assert observed == expected, "observed:\n" + table(observed)


def test_every_portal_page_answers_every_persona_as_the_matrix_says(world, personas, client):
    observed = {}
    for name in portal_url_names():
        url = reverse(name, args=world.portal_args.get(name, []))
        row = []
        for persona in PERSONAS:
            user = user_of(personas, persona)
            client.logout()
            if user is not None:
                client.force_login(user)
            response = client.get(url)
            row.append(response.status_code)
            if response.status_code == 200 and name != "claims:document-file":
                hold_back(world, persona, url, response.content.decode())
            if persona == "anonymous" and response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), (url, response["Location"])
        observed[name] = tuple(row)
    assert observed == PORTAL_MATRIX, "observed:\n" + table(observed)


def json_keys(body) -> set[str]:
    """Every key of a JSON body, at any depth."""
    if isinstance(body, dict):
        return set(body) | {key for value in body.values() for key in json_keys(value)}
    if isinstance(body, list):
        return {key for value in body for key in json_keys(value)}
    return set()


def statuses_in(body) -> set[str]:
    """The values of every status and outcome key of a JSON body, at any depth."""
    if isinstance(body, dict):
        own = {value for key, value in body.items() if key in STATUS_KEYS and isinstance(value, str)}
        return own | {status for value in body.values() for status in statuses_in(value)}
    if isinstance(body, list):
        return {status for value in body for status in statuses_in(value)}
    return set()


STATUS_KEYS = {"status", "from_status", "to_status", "decision_outcome", "outcome"}


def hold_back(world, persona: str, url: str, text: str, keys: set[str] = frozenset()) -> None:
    """What a 200 may not show: Alice's records to those outside her scope; the handlers' fields, notes and names
    to Alice and the agents."""
    if persona in OUTSIDE_ALICES_SCOPE:
        shown = sorted(mark for mark in world.alice_marks if mark in text)
        assert not shown, f"{persona} sees Alice's {shown} at {url}"
    if persona in NOT_HANDLERS:
        if url.startswith(ANALYTICS):  # the feeds keep their columns for BI tools, but empty
            rows = body.get("results", []) if isinstance(body := json.loads(text), dict) else []
            for row in rows if isinstance(rows, list) else []:
                held = {key: row[key] for key in HANDLER_ONLY & set(row) if row[key] is not None}
                assert not held, f"{persona} sees {held} at {url}"
        else:
            assert not (keys & HANDLER_ONLY), f"{persona} sees {sorted(keys & HANDLER_ONLY)} at {url}"
        if keys:  # a JSON body: an investigation is told as a review, if at all
            told = statuses_in(json.loads(text)) & {ClaimStatus.INVESTIGATION, DecisionOutcome.INVESTIGATE}
            assert not told, f"{persona} sees {told} at {url}"
        elif "/claims/" in url:
            assert "investigat" not in text.lower(), f"{persona} is told of an investigation at {url}"
        for secret in world.handler_marks:
            assert secret not in text, f"{persona} sees {secret!r} at {url}"


ANALYTICS = "/api/analytics/"
OUTSIDE_ALICES_SCOPE = {"bob", "other_agent", "outsider"}
NOT_HANDLERS = {"alice", "alice_agent", "bob", "other_agent"}


# --- writes -------------------------------------------------------------------------------------------------


def alices_state(world) -> list[tuple]:
    claims = Claim.objects.filter(policy=world.book.alice_policy).order_by("pk")
    fields = ("status", "reserve_amount", "approved_amount", "paid_amount", "assigned_handler_id", "updated_at")
    state = [tuple(getattr(claim, name) for name in fields) for claim in claims]
    policies = Policy.objects.filter(holder__username="alice").order_by("pk")
    state += [(policy.number, policy.status, policy.premium, policy.updated_at) for policy in policies]
    profile = world.book.alice_policy.holder.customer_profile
    profile.refresh_from_db()
    return [*state, (profile.agent_id, profile.city, profile.phone, profile.updated_at)]


def test_those_who_may_not_write_are_refused_and_nothing_changes(world, personas, api_client, analytics_client):
    ids = {"id": world.claim.pk}
    before = alices_state(world)
    observed, expected = {}, {}
    for (method, route), row in WRITE_MATRIX.items():
        if route.startswith("/api/policies/"):
            url = fill(route, {"id": world.book.alice_policy.pk})
        elif route.startswith("/api/accounts/"):
            url = fill(route, {"id": personas.alice.customer_profile.pk})
        else:
            url = fill(route, ids)
        body = WRITE_BODIES.get(route, {"city": "Nowhere"} if method == "patch" else {})
        for persona, status in zip(PERSONAS, row, strict=True):
            if status == 0:
                continue
            client = api_as(api_client, analytics_client, personas, persona, route)
            observed[method, route, persona] = getattr(client, method)(url, body, format="json").status_code
            expected[method, route, persona] = status
    assert observed == expected
    assert alices_state(world) == before


def test_a_customer_cannot_move_her_profile_to_another_agent_or_user(world, personas, api_client):
    profile = personas.alice.customer_profile
    url = reverse("accounts-api:customer-detail", args=[profile.pk])
    other = personas.other_agent.agent_profile
    for persona in ("alice", "alice_agent"):
        body = {"agent": other.pk, "user": personas.bob.pk, "id": profile.pk + 100, "city": f"Dayton {persona}"}
        response = api_client(getattr(personas, persona)).patch(url, body, format="json")
        assert response.status_code == 200, response.content
        profile.refresh_from_db()
        assert (profile.agent_id, profile.user_id) == (personas.alice_agent.agent_profile.pk, personas.alice.pk)


def test_a_claimant_cannot_set_status_money_assignment_or_claimant(world, personas, api_client):
    handler = personas.underwriter
    body = {
        "policy": world.book.alice_policy.number,
        "incident_at": (timezone.now() - timedelta(days=2)).isoformat(),
        "incident_place": "High St, Columbus",
        "loss_type": "collision",
        "description": "Rear-ended at a red light.",
        "amount_claimed": "700.00",
        # protected: none of these may take effect
        "status": "approved",
        "claimant": personas.bob.pk,
        "reported_by": personas.bob.pk,
        "reserve_amount": "99999.00",
        "approved_amount": "700.00",
        "paid_amount": "700.00",
        "assigned_handler": handler.pk,
        "fraud_risk": "low",
        "priority": "urgent",
        "investigation_outcome": "legitimate",
        "decided_by_person": True,
    }
    response = api_client(personas.alice).post(reverse("claims-api:claim-list"), body, format="json")
    assert response.status_code == 201, response.content
    assert not HANDLER_ONLY & set(response.json())
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.claimant_id == personas.alice.pk
    assert claim.policy.holder_id == personas.alice.pk
    assert claim.assigned_handler_id is None
    assert claim.reserve_amount != Decimal("99999.00")
    assert claim.paid_amount in (None, Decimal("0"))
    assert not claim.decided_by_person
    assert claim.status != "paid"
    assert claim.investigation_outcome != "legitimate"
    # Another's policy cannot be claimed on, by the claimant or by her agent.
    for persona in ("alice", "alice_agent"):
        stolen = {**body, "policy": world.book.bob_policy.number}
        response = api_client(getattr(personas, persona)).post(reverse("claims-api:claim-list"), stolen, format="json")
        assert response.status_code == 400, response.content
    assert not Claim.objects.filter(policy=world.book.bob_policy, claimant=personas.alice).exists()


def test_a_quote_cannot_be_made_for_someone_else_or_at_a_chosen_price(world, personas, api_client):
    body = {
        "product": world.book.product.code,
        "effective_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
        "instalment_count": 4,
        "coverages": [{"coverage": "collision", "deductible": "500.00"}],
        "vehicle": {"make": "Toyota", "model": "Corolla", "year": 2021, "vin": "JTDBR32E720123456", "value": "18000"},
    }
    bobs_before = Policy.objects.filter(holder=personas.bob).count()
    for persona in ("alice", "alice_agent"):
        response = api_client(getattr(personas, persona)).post(
            reverse("policies-api:policy-quote"), {**body, "holder": personas.bob.pk}, format="json"
        )
        assert response.status_code == 400, response.content
        assert "holder" in response.json()["error"]["fields"]
    assert Policy.objects.filter(holder=personas.bob).count() == bobs_before
    sneaky = {**body, "status": "in_force", "premium": "1.00", "agent": personas.other_agent.agent_profile.pk}
    response = api_client(personas.alice).post(reverse("policies-api:policy-quote"), sneaky, format="json")
    assert response.status_code == 201, response.content
    policy = Policy.objects.get(number=response.json()["number"])
    assert policy.holder_id == personas.alice.pk
    assert policy.status != "in_force"
    assert policy.premium != Decimal("1.00")
    assert policy.agent_id != personas.other_agent.agent_profile.pk


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_claims_and_policies_are_not_edited_through_their_records(world, personas, api_client, method):
    before = alices_state(world)
    for user in (personas.alice, personas.underwriter):
        for url in (
            reverse("claims-api:claim-detail", args=[world.claim.pk]),
            reverse("policies-api:policy-detail", args=[world.book.alice_policy.pk]),
        ):
            body = {"status": "approved", "holder": personas.bob.pk, "reserve_amount": "1.00"}
            response = getattr(api_client(user), method)(url, body, format="json")
            assert response.status_code in (403, 405), (user, url, response.status_code)
    assert alices_state(world) == before
