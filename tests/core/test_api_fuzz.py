"""API fuzzing: schemathesis drives every operation of our OpenAPI schema (served at /api/schema/) as each persona.

Each operation gets a bounded, derandomized handful of generated requests (valid and invalid ones) per persona,
sent to the WSGI app. Every answer must be free of server errors (no 5xx) and must match the schema for its status.
The book holds real objects (Alice's policy and claims, a document, a fraud score and model), and path ids are
swapped for real ones about half the time, so requests reach objects and not only 404s.
"""

import os
from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig
from schemathesis.hooks import HookContext

from claims import services as claim_services
from insurance.core.roles import Role
from reports.services import analytics_token_issue
from tests.accounts.factories import AgentProfileFactory, CustomerProfileFactory, UserFactory
from tests.api_schema import CHECKS, connection_kept, load_schema
from tests.claims.conftest import stored_document, submit
from tests.fraud.factories import model_version
from tests.policies.factories import make_test_product
from tests.reports.conftest import in_force, score

PERSONAS = ("anonymous", "customer", "agent", "underwriter", "admin", "analyst")
# Per operation and persona: 60 operations x 6 personas stay within a few minutes in CI. FUZZ_MAX_EXAMPLES=50 (and
# FUZZ_COVERAGE=1 for schemathesis' boundary cases) digs deeper on a workstation.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "6"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        # The coverage phase sends dozens of boundary cases per operation: too many for 6 personas in CI.
        "phases": {"coverage": {"enabled": bool(os.environ.get("FUZZ_COVERAGE"))}, "stateful": {"enabled": False}},
    }
)
schema = load_schema(CONFIG)


def build_world(media_root) -> SimpleNamespace:
    """Alice (a customer) and her agent, Bob of another agent, an underwriter, an admin and an analytics reader;
    Alice's policy with a paid claim (and its document), an open one and one under investigation; Bob's claim;
    fraud scores and a fraud model."""
    alice_agent = AgentProfileFactory(user__username="alice_agent", agency="North Agency")
    other_agent = AgentProfileFactory(user__username="other_agent", agency="South Agency")
    alice = CustomerProfileFactory(user__username="alice", agent=alice_agent).user
    bob = CustomerProfileFactory(user__username="bob", agent=other_agent).user
    underwriter = UserFactory(username="underwriter", role=Role.UNDERWRITER)
    admin = UserFactory(username="admin_user", role=Role.ADMIN)
    analyst = UserFactory(username="analyst", role=Role.ANALYTICS_READER)

    product = make_test_product()
    alice_policy = in_force(alice, product, region="OH", born=date(1980, 5, 17), coverages=[{"coverage": "collision"}])
    bob_policy = in_force(bob, product, region="IL", born=date(1985, 2, 1))
    paid = submit(actor=alice, policy=alice_policy, amount_claimed="1200.00")
    paid = claim_services.claim_approve(actor=underwriter, claim=paid, reason="Invoice checked")
    claim_services.payment_create(actor=underwriter, claim=paid, amount=paid.amount_claimed, reference="P-1")
    investigated = submit(actor=alice, policy=alice_policy, amount_claimed="2999.99")
    investigated = claim_services.claim_investigate(actor=underwriter, claim=investigated, reason="Reported late")
    open_claim = submit(actor=alice, policy=alice_policy, amount_claimed="450.55")
    bobs = submit(actor=bob, policy=bob_policy, loss_type="injury", amount_claimed="999.99")
    scores = [score(investigated, 0.91, "high"), score(bobs, 0.4, "medium")]

    with override_settings(MEDIA_ROOT=media_root):
        document = stored_document(claim=paid, uploaded_by=alice)
    model = model_version(actor=admin)

    def drf_token(user) -> str:
        return f"Token {Token.objects.get_or_create(user=user)[0].key}"

    claims = [paid.pk, investigated.pk, open_claim.pk, bobs.pk]
    return SimpleNamespace(
        headers={
            "anonymous": {},
            "customer": {"Authorization": drf_token(alice)},
            "agent": {"Authorization": drf_token(alice_agent.user)},
            "underwriter": {"Authorization": drf_token(underwriter)},
            "admin": {"Authorization": drf_token(admin)},
            "analyst": {"Authorization": f"Token {analytics_token_issue(actor=admin, user=analyst).secret}"},
        },
        path_values={
            "/api/accounts/customers/": {"id": [alice.customer_profile.pk, bob.customer_profile.pk]},
            "/api/accounts/agents/": {"id": [alice_agent.pk, other_agent.pk]},
            "/api/policies/": {"id": [alice_policy.pk, bob_policy.pk]},
            "/api/policies/products/": {"code": [product.code]},
            "/api/claims/": {"id": claims, "document_pk": [document.pk]},
            "/api/fraud/scores/": {"id": [item.pk for item in scores]},
            "/api/fraud/models/": {"id": [model.pk]},
        },
    )


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The book, built once for the module inside a transaction that is rolled back at the end (each test then
    sends each request in a savepoint of its own, so what one request writes never reaches the next)."""
    media_root = tmp_path_factory.mktemp("fuzz-media")
    with connection_kept(), django_db_blocker.unblock(), transaction.atomic():
        with override_settings(MEDIA_ROOT=media_root):
            world = build_world(media_root)
            REAL_PATH_VALUES.update(world.path_values)
            yield world
            REAL_PATH_VALUES.clear()
        transaction.set_rollback(True)


# Filled by `fuzz_world`: real values for path parameters, by the path's prefix (the longest prefix wins).
REAL_PATH_VALUES: dict[str, dict[str, list]] = {}


@schema.hook
def flatmap_path_parameters(context: HookContext, path_parameters: dict | None) -> st.SearchStrategy:
    """About half the time, each path parameter names a real object of the book instead of a generated value."""
    if not path_parameters:
        return st.just(path_parameters)
    path = context.operation.path
    prefixes = [prefix for prefix in REAL_PATH_VALUES if path.startswith(prefix)]
    real = REAL_PATH_VALUES[max(prefixes, key=len)] if prefixes else {}
    choices = {
        name: st.one_of(st.just(value), st.sampled_from(real[name])) if name in real else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.fixed_dictionaries(choices)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@schema.parametrize()
# The book is built once per module (`fuzz_world`); each request runs in a savepoint of its own.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_every_persona_without_error_and_within_the_schema(case, persona, fuzz_world):
    # Each request in a savepoint rolled back after it: every generated request finds the same book.
    with transaction.atomic():
        case.call_and_validate(headers=fuzz_world.headers[persona], checks=CHECKS)
        transaction.set_rollback(True)
