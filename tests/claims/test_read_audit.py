"""The read audit (accounts.DataAccessLog): who viewed which claim or customer record, how, and through which request.

Through the API, the portal, the document links, the customer 360 page, the analytics feeds and the admin; nothing
for what was not shown (a 404), and the audit itself cannot be edited.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import InternalError, connection
from django.urls import reverse

from accounts.models import DataAccessLog, User
from claims.models import Claim, ClaimDocument
from tests.claims.conftest import stored_document, submit
from tests.reports import conftest as reports_fixtures

analytics_client = reports_fixtures.analytics_client


def entries(**filters) -> list[tuple]:
    rows = DataAccessLog.objects.filter(**filters).select_related("user", "content_type").order_by("pk")
    return [(row.user.username, row.action, row.content_type.model, row.object_id) for row in rows]


@pytest.fixture
def claim(personas, policy):
    return submit(actor=personas.alice, policy=policy)


@pytest.fixture
def document(personas, claim, settings, tmp_path) -> ClaimDocument:
    settings.MEDIA_ROOT = tmp_path
    return stored_document(claim=claim, uploaded_by=personas.alice)


@pytest.mark.django_db
def test_a_customer_viewing_her_claim_through_the_api_is_recorded_with_the_request(personas, claim, api_client):
    response = api_client(personas.alice).get(reverse("claims-api:claim-detail", args=[claim.pk]))
    assert response.status_code == 200
    assert entries() == [("alice", "view", "claim", str(claim.pk))]
    row = DataAccessLog.objects.get()
    assert row.request_id == response["X-Request-ID"], "the row leads to the request's log lines"
    assert row.path == reverse("claims-api:claim-detail", args=[claim.pk])
    assert row.count is None


@pytest.mark.django_db
def test_a_customer_viewing_her_claim_in_the_portal_is_recorded(personas, claim, client):
    client.force_login(personas.alice)
    assert client.get(reverse("claims:claim-detail", args=[claim.pk])).status_code == 200
    assert entries() == [("alice", "view", "claim", str(claim.pk))]


@pytest.mark.django_db
def test_a_handlers_review_page_is_recorded(personas, claim, client):
    client.force_login(personas.underwriter)
    assert client.get(reverse("claims:claim-review", args=[claim.pk])).status_code == 200
    assert entries() == [("underwriter", "view", "claim", str(claim.pk))]


@pytest.mark.django_db
def test_a_list_records_the_claims_it_shows(personas, policy, bob_policy, api_client, client):
    alices = [submit(actor=personas.alice, policy=policy) for _ in range(2)]
    bobs = submit(actor=personas.bob, policy=bob_policy, loss_type="injury")
    body = api_client(personas.alice).get(reverse("claims-api:claim-list")).json()
    shown = {str(row["id"]) for row in body["results"]}
    assert shown == {str(claim.pk) for claim in alices}
    assert {row[3] for row in entries(action="list")} == shown
    assert str(bobs.pk) not in {row[3] for row in entries()}, "what is not shown is not recorded"

    DataAccessLog.objects.all().delete()
    client.force_login(personas.underwriter)
    assert client.get(reverse("claims:claim-list")).status_code == 200
    assert {row[3] for row in entries(user=personas.underwriter, action="list")} == {
        str(pk) for pk in Claim.objects.values_list("pk", flat=True)
    }


@pytest.mark.django_db
def test_what_answers_404_records_nothing(personas, claim, document, api_client, client):
    bob = api_client(personas.bob)
    assert bob.get(reverse("claims-api:claim-detail", args=[claim.pk])).status_code == 404
    download = reverse("claims-api:claim-download", args=[claim.pk, document.pk])
    assert bob.get(download).status_code == 404
    client.force_login(personas.bob)
    assert client.get(reverse("claims:claim-detail", args=[claim.pk])).status_code == 404
    profile = personas.alice.customer_profile
    assert bob.get(reverse("accounts-api:customer-detail", args=[profile.pk])).status_code == 404
    assert not DataAccessLog.objects.exists()


@pytest.mark.django_db
def test_a_document_download_records_the_document(personas, claim, document, api_client, client):
    download = reverse("claims-api:claim-download", args=[claim.pk, document.pk])
    assert api_client(personas.alice_agent).get(download).status_code == 200
    client.force_login(personas.underwriter)
    assert client.get(reverse("claims:document-file", args=[claim.pk, document.pk])).status_code == 200
    assert entries(action="download") == [
        ("alice_agent", "download", "claimdocument", str(document.pk)),
        ("underwriter", "download", "claimdocument", str(document.pk)),
    ]


@pytest.mark.django_db
def test_writes_are_not_recorded_as_reads(personas, claim, api_client):
    response = api_client(personas.underwriter).post(
        reverse("claims-api:claim-add-note", args=[claim.pk]), {"text": "Called the garage."}, format="json"
    )
    assert response.status_code == 201
    assert not DataAccessLog.objects.exists()


@pytest.mark.django_db
def test_customer_records_read_through_the_api_and_the_portal(personas, api_client, client):
    profile = personas.alice.customer_profile
    assert api_client(personas.alice).get(reverse("accounts-api:customer-detail", args=[profile.pk])).status_code == 200
    agent_list = api_client(personas.alice_agent).get(reverse("accounts-api:customer-list")).json()
    assert [row["id"] for row in agent_list["results"]] == [profile.pk]
    client.force_login(personas.alice_agent)
    assert client.get(reverse("accounts:customer-list")).status_code == 200
    assert client.get(reverse("accounts:customer-detail", args=[profile.pk])).status_code == 200
    assert entries() == [
        ("alice", "view", "customerprofile", str(profile.pk)),
        ("alice_agent", "list", "customerprofile", str(profile.pk)),
        ("alice_agent", "list", "customerprofile", str(profile.pk)),
        ("alice_agent", "view", "customerprofile", str(profile.pk)),
    ]


@pytest.mark.django_db
def test_the_customer_360_records_the_customer_and_the_claims_it_lists(personas, claim, client):
    profile = personas.alice.customer_profile
    client.force_login(personas.alice_agent)
    assert client.get(reverse("reports:customer-360", args=[profile.pk])).status_code == 200
    assert entries() == [
        ("alice_agent", "view", "customerprofile", str(profile.pk)),
        ("alice_agent", "list", "claim", str(claim.pk)),
    ]
    client.force_login(personas.other_agent)
    assert client.get(reverse("reports:customer-360", args=[profile.pk])).status_code == 404
    assert not DataAccessLog.objects.filter(user=personas.other_agent).exists()


@pytest.mark.django_db
def test_an_analytics_feed_request_is_one_row_with_its_count(personas, policy, analytics_client):
    for _ in range(3):
        submit(actor=personas.alice, policy=policy)
    client = analytics_client(personas.analyst)
    body = client.get(reverse("analytics-api:claims"), {"page_size": 2}).json()
    assert len(body["results"]) == 2
    client.get(reverse("analytics-api:customers"), {"format": "csv"})
    rows = list(DataAccessLog.objects.order_by("pk").values_list("user__username", "action", "object_id", "count"))
    assert rows == [("analyst", "export", "", 2), ("analyst", "export", "", None)]
    # The customers feed reads customers as users (with their profile and segment).
    assert [row.content_type.model_class() for row in DataAccessLog.objects.order_by("pk")] == [Claim, User]


@pytest.mark.django_db
def test_admin_change_pages_of_claims_and_customers_are_recorded(personas, claim, client):
    client.force_login(personas.admin)
    profile = personas.alice.customer_profile
    assert client.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code == 200
    assert client.get(reverse("admin:accounts_customerprofile_change", args=[profile.pk])).status_code == 200
    assert entries() == [
        ("admin_user", "view", "claim", str(claim.pk)),
        ("admin_user", "view", "customerprofile", str(profile.pk)),
    ]


@pytest.mark.django_db
def test_the_audit_is_read_only_in_the_admin(personas, claim, api_client, client):
    api_client(personas.alice).get(reverse("claims-api:claim-detail", args=[claim.pk]))
    row = DataAccessLog.objects.get()
    client.force_login(personas.admin)
    assert client.get(reverse("admin:accounts_dataaccesslog_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_dataaccesslog_change", args=[row.pk])).status_code == 200
    assert client.get(reverse("admin:accounts_dataaccesslog_add")).status_code == 403
    client.post(reverse("admin:accounts_dataaccesslog_change", args=[row.pk]), {"object_id": "999"})
    assert (
        client.post(reverse("admin:accounts_dataaccesslog_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    )
    row.refresh_from_db()
    assert row.object_id == str(claim.pk)
    assert row.content_type == ContentType.objects.get_for_model(Claim)


@pytest.mark.django_db
def test_a_head_request_shows_nothing_and_records_nothing(personas, claim, api_client, client):
    assert api_client(personas.alice).head(reverse("claims-api:claim-detail", args=[claim.pk])).status_code == 200
    client.force_login(personas.alice)
    assert client.head(reverse("claims:claim-detail", args=[claim.pk])).status_code == 200
    assert entries() == []


@pytest.mark.django_db
def test_a_read_only_database_refusing_the_record_is_503_not_a_500(personas, claim, api_client):
    """The read is refused with the record (nothing shown unrecorded), as an outage: a replica, a failover."""

    class ReadOnly(Exception):
        pgcode = "25006"

    def refuse(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and '"accounts_dataaccesslog"' in sql:
            raise InternalError("cannot execute INSERT in a read-only transaction") from ReadOnly()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        response = api_client(personas.alice).get(reverse("claims-api:claim-detail", args=[claim.pk]))
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_policies_read_through_the_api_and_the_portal_are_recorded(personas, policy, api_client, client):
    """A policy shows its holder and what it insures (a person's health declarations, for life cover)."""
    assert (
        api_client(personas.alice_agent).get(reverse("policies-api:policy-detail", args=[policy.pk])).status_code == 200
    )
    client.force_login(personas.alice)
    assert client.get(reverse("policies:policy-detail", args=[policy.pk])).status_code == 200
    assert client.get(reverse("policies:policy-list")).status_code == 200
    pk = str(policy.pk)
    assert entries() == [
        ("alice_agent", "view", "policy", pk),
        ("alice", "view", "policy", pk),
        ("alice", "list", "policy", pk),
    ]


@pytest.mark.django_db
def test_fraud_scores_read_by_a_handler_are_recorded(personas, claim, api_client):
    from fraud.services import scoring
    from insurance.core.audit import system_account

    score = scoring.score_claim(actor=system_account("celery"), claim_id=claim.pk)
    handler = api_client(personas.underwriter)
    assert handler.get(reverse("fraud-api:score-detail", args=[score.pk])).status_code == 200
    assert entries(user=personas.underwriter) == [("underwriter", "view", "fraudscore", str(score.pk))]
