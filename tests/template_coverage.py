"""Every project template is rendered by at least one test: a pytest plugin, on when CHECK_TEMPLATES=1 (`make test`).

It records each template rendered during the run through Django's `template_rendered` signal, which the test
environment (pytest-django's `setup_test_environment`) fires from every render in the process: the test client's,
`render_to_string`'s, and the live server thread's in browser tests alike, since the instrumented render is patched
onto the Template class, not on a thread. Templates pulled in by `{% extends %}` and `{% include %}` count too.

The check only judges a run of the whole suite: no `-k`/`-m`, no node ids, nothing deselected or ignored, every test
module under the test paths collected, and no test failed (a failing run already says what to fix first). Then the
run fails, listing the project templates (`templates/` and each project app's `templates/`) that no test rendered.
Tests skipped in the run (PostgreSQL-only ones on SQLite, browser tests without Chromium) render nothing, so a
template only they render is reported. Emails' text templates (`email/` folders) are left to their own tests, which
assert the messages' content.
"""

import os
from pathlib import Path

import pytest

ENABLED = os.environ.get("CHECK_TEMPLATES") == "1"
EXCLUDED_FOLDERS = frozenset({"email"})


def project_templates() -> set[Path]:
    """The templates the project owns: the project-wide folder and each project app's, less the excluded folders."""
    from django.apps import apps
    from django.conf import settings

    folders = [Path(settings.BASE_DIR) / "templates"]
    folders += [Path(apps.get_app_config(label).path) / "templates" for label in settings.PROJECT_APPS]
    found = set()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not EXCLUDED_FOLDERS & set(path.relative_to(folder).parts[:-1]):
                found.add(path.resolve())
    return found


def unrendered(rendered: set[Path]) -> list[str]:
    """Project templates not among `rendered`, as paths relative to the project, sorted."""
    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    return sorted(str(path.relative_to(base)) for path in project_templates() - rendered)


class TemplateCoverage:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rendered: set[Path] = set()
        self.deselected = 0
        self.whole_suite = False
        self.missing: list[str] = []
        self.note = ""

    def record(self, sender, template, **kwargs) -> None:
        origin = getattr(template, "origin", None)
        name = getattr(origin, "name", None)
        if name and os.path.isabs(name):
            self.rendered.add(Path(name).resolve())

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from django.test.signals import template_rendered

        template_rendered.connect(self.record, weak=False, dispatch_uid="tests.template_coverage")

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.whole_suite = self._is_whole_suite(session)

    def _is_whole_suite(self, session: pytest.Session) -> bool:
        option = self.config.option
        if option.keyword or option.markexpr or self.deselected or getattr(option, "lf", False):
            return False
        if any("::" in arg for arg in self.config.args):
            return False
        root = self.config.rootpath
        test_modules = {
            path.resolve()
            for test_path in self.config.getini("testpaths")
            for path in (root / test_path).rglob("test_*.py")
        }
        collected = {Path(item.path).resolve() for item in session.items}
        return bool(test_modules) and test_modules <= collected

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.whole_suite:
            self.note = "not checked: a selection ran, or not every test module was collected"
        elif exitstatus != pytest.ExitCode.OK:
            self.note = "not checked: the run did not pass"
        else:
            self.missing = unrendered(self.rendered)
            if self.missing:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.missing:
            terminalreporter.section("templates no test rendered", sep="=", red=True, bold=True)
            for name in self.missing:
                terminalreporter.line(f"  {name}")
            terminalreporter.line(f"{len(self.missing)} template(s) no test rendered (CHECK_TEMPLATES=1)")
        elif self.note:
            terminalreporter.line(f"template coverage: {self.note}")
        else:
            terminalreporter.line("template coverage: every project template was rendered by a test")


def pytest_configure(config: pytest.Config) -> None:
    if ENABLED:
        config.pluginmanager.register(TemplateCoverage(config), "template-coverage")
