"""`make run`'s demo book: products as data and policies in several states, created once."""

from io import StringIO

import pytest
from django.core.management import call_command

from policies.models import Policy, Product


@pytest.mark.django_db
def test_demo_book_is_created_once(django_capture_on_commit_callbacks):
    call_command("create_demo_users", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_demo_book", "--customers", "5", stdout=StringIO())
    assert set(Product.objects.values_list("code", flat=True)) == {"auto-comprehensive", "home-standard", "term-life"}
    statuses = set(Policy.objects.values_list("status", flat=True))
    assert {"quote", "in_force", "referred"} <= statuses
    count = Policy.objects.count()
    out = StringIO()
    call_command("create_demo_book", stdout=out)
    assert Policy.objects.count() == count
    assert "nothing added" in out.getvalue()
    assert Policy.objects.filter(holder__username="alice").exists()
