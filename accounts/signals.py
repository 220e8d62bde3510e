"""Wiring only: a saved password change revokes the user's API token (`services.api_tokens_revoke`)."""

from . import services


def user_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    # `_password` holds the new raw password from `set_password()` until the save completes (Django's own flag for
    # its password-changed validators), so it tells a password change from any other save.
    if raw or created or getattr(instance, "_password", None) is None:
        return
    services.api_tokens_revoke(user=instance)
