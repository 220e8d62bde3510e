"""The fraud API (`/api/fraud/`): read-only scores and the model registry, for staff."""
