"""Domain errors raised by services. The API exception handler turns each into one consistent error body."""

from collections.abc import Iterable


class ServiceError(Exception):
    """A request the domain refuses: answered 400 with `message` and, where known, the offending fields."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def extra(self) -> dict:
        return {}


class ConflictError(ServiceError):
    """The request conflicts with the current state of the object (answered 409)."""

    status_code = 409
    code = "conflict"


class TransitionNotAllowed(ConflictError):
    """A state machine refused a transition; the allowed ones are named in the error body."""

    code = "transition_not_allowed"

    def __init__(self, *, current: str, requested: str, allowed: Iterable[str]):
        self.current = current
        self.requested = requested
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) or "none"
        super().__init__(f"Cannot {requested} from state {current!r}. Allowed from here: {allowed_text}.")

    def extra(self) -> dict:
        return {"current_state": self.current, "allowed": self.allowed}


def field_error(field: str, message: str) -> ServiceError:
    """A 400 about one field, named in both the message and `fields` (the way every service reports bad input)."""
    return ServiceError(f"{field}: {message}", fields={field: [message]})


def required_text(value: str | None, field: str = "reason") -> str:
    """`value` stripped, or a 400 naming `field` when it is empty."""
    if not value or not value.strip():
        raise field_error(field, "is required")
    return value.strip()
