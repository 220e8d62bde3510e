"""The template check (tests/template_coverage.py) knows which templates the project owns."""

from pathlib import Path

from django.conf import settings

from tests.template_coverage import project_templates, unrendered

BASE = Path(settings.BASE_DIR).resolve()


def test_project_templates_are_the_project_folder_and_each_apps_less_emails():
    found = {str(path.relative_to(BASE)) for path in project_templates()}

    assert "templates/base.html" in found
    assert "templates/registration/login.html" in found
    assert "templates/admin/action_with_reason.html" in found
    assert "accounts/templates/accounts/customer_detail.html" in found
    assert not [name for name in found if "/email/" in name]
    assert not [name for name in found if ".venv" in name or "site-packages" in name]  # Django's own are not ours


def test_unrendered_lists_what_was_not_rendered_relative_to_the_project():
    everything = project_templates()
    base = BASE / "templates" / "base.html"

    assert unrendered(everything) == []
    assert unrendered(everything - {base}) == ["templates/base.html"]
