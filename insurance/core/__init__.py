"""Shared, model-free pieces every app builds on.

- `models.BaseModel`: timestamps, simple-history and the permission-aware queryset for every project model.
- `scoping`: `restrict(user, action)`, the one rule for who may see or change which rows.
- `audit`: who the actor of a change is (request user, service actor, or a named system account).
- `api`: the DRF permission class, base viewsets, pagination and the single error body.
- `views`: portal mixins and `/health/`; `tasks` and `commands`: audited bases for Celery tasks and commands.
- `testing`: the generic API test base later apps reuse.

Nothing here imports a project app; apps import this package.
"""
