"""The generic API test base every app reuses (pytest).

A test module subclasses `ScopedEndpointTests` for one endpoint, says how to make an object that belongs to the
customer persona Alice, and inherits tests for every persona: who gets 401, 403, 404 or 200 on the list and the
detail, that lists hold only rows in scope, and that a write records its actor in the history.

It relies on two fixtures the suite's conftest provides (this module imports no app):
- `personas`: an object with the users `alice`, `bob`, `alice_agent`, `other_agent`, `underwriter`, `admin`,
  `analyst`, `outsider` (each a saved user);
- `api_client`: a function `(user or None) -> rest_framework.test.APIClient` authenticated as that user.
"""

from typing import Any, ClassVar

import pytest
from django.urls import reverse

PERSONAS = ("anonymous", "alice", "bob", "alice_agent", "other_agent", "underwriter", "admin", "analyst", "outsider")

# Who may see an object owned by the customer Alice, by default. Override per endpoint where the rules differ.
DEFAULT_DETAIL_STATUS = {
    "anonymous": 401,
    "alice": 200,
    "bob": 404,
    "alice_agent": 200,
    "other_agent": 404,
    "underwriter": 200,
    "admin": 200,
    "analyst": 403,
    "outsider": 403,
}


def persona_user(personas, name: str):
    return None if name == "anonymous" else getattr(personas, name)


@pytest.mark.django_db
class ScopedEndpointTests:
    """Subclass, set `basename` (the router's basename with its namespace, e.g. "accounts-api:customer") and
    implement `make_object`. For an endpoint that takes PATCH, subclass `ScopedWritableEndpointTests`."""

    basename: ClassVar[str]
    detail_status: ClassVar[dict[str, int]] = DEFAULT_DETAIL_STATUS

    def make_object(self, personas):
        """An object owned by Alice (the customer persona)."""
        raise NotImplementedError

    def list_url(self) -> str:
        return reverse(f"{self.basename}-list")

    def detail_url(self, obj) -> str:
        return reverse(f"{self.basename}-detail", args=[obj.pk])

    @pytest.mark.parametrize("persona", PERSONAS)
    def test_detail_status_per_persona(self, persona, personas, api_client):
        obj = self.make_object(personas)
        response = api_client(persona_user(personas, persona)).get(self.detail_url(obj))
        assert response.status_code == self.detail_status[persona], response.content
        if response.status_code != 200:
            assert "error" in response.json(), "every error answers with the one error body"

    @pytest.mark.parametrize("persona", PERSONAS)
    def test_list_holds_only_rows_in_scope(self, persona, personas, api_client):
        obj = self.make_object(personas)
        response = api_client(persona_user(personas, persona)).get(self.list_url())
        expected = self.detail_status[persona]
        if expected in (401, 403):
            assert response.status_code == expected, response.content
            return
        assert response.status_code == 200, response.content
        ids = {row["id"] for row in response.json()["results"]}
        assert (obj.pk in ids) == (expected == 200)
        model = type(obj)
        visible = model._default_manager.restrict(persona_user(personas, persona), "view")
        assert ids <= set(visible.values_list("pk", flat=True))


class ScopedWritableEndpointTests(ScopedEndpointTests):
    """Adds: a PATCH of `update_payload` by `update_as` records that user in the history; out of scope it stores
    nothing."""

    update_payload: ClassVar[dict[str, Any]]
    update_as: ClassVar[str] = "alice"

    def test_update_records_actor_in_history(self, personas, api_client):
        obj = self.make_object(personas)
        actor = persona_user(personas, self.update_as)
        response = api_client(actor).patch(self.detail_url(obj), self.update_payload, format="json")
        assert response.status_code == 200, response.content
        latest = obj.history.latest()
        assert latest.history_user == actor
        for field, value in self.update_payload.items():
            assert str(getattr(latest, field)) == str(value)

    def test_update_out_of_scope_is_not_found(self, personas, api_client):
        obj = self.make_object(personas)
        before = obj.history.count()
        response = api_client(personas.bob).patch(self.detail_url(obj), self.update_payload, format="json")
        assert response.status_code == 404
        assert obj.history.count() == before, "a refused write must store nothing"
