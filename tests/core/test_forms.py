"""A service's refusal lands on the form that asked for the write (insurance/core/forms.py), whatever its shape."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from insurance.core.exceptions import ConflictError, ServiceError, field_error
from insurance.core.forms import FALLBACK_MESSAGE, add_service_error


class ClaimForm(forms.Form):
    incident_date = forms.DateField()
    description = forms.CharField()


class VehicleForm(forms.Form):
    vin = forms.CharField()


VALID = {"incident_date": "2024-05-01", "description": "A tree fell on the car.", "vehicle-vin": "1HGCM82633A004352"}


def bound(form_class: type[forms.Form], **kwargs) -> forms.Form:
    """A valid form, as the views hold it when the service refuses."""
    form = form_class(VALID, **kwargs)
    assert form.is_valid()
    return form


def test_a_named_field_gets_the_message_and_nothing_is_said_twice():
    form = bound(ClaimForm)
    add_service_error(form, field_error("description", "is required"))
    assert form.errors == {"description": ["is required"]}


def test_an_error_without_fields_is_a_form_wide_error():
    form = bound(ClaimForm)
    add_service_error(form, ConflictError("The policy is not in force."))
    assert form.non_field_errors() == ["The policy is not in force."]


def test_a_service_name_the_form_calls_differently_goes_through_the_aliases():
    form = bound(ClaimForm)
    error = ServiceError("incident_at: is in the future", fields={"incident_at": ["is in the future"]})
    add_service_error(form, error, aliases={"incident_at": "incident_date"})
    assert form.errors == {"incident_date": ["is in the future"]}


def test_a_dotted_name_goes_on_the_sub_form_of_that_prefix():
    form, vehicle = bound(ClaimForm), bound(VehicleForm, prefix="vehicle")
    add_service_error(form, field_error("vehicle.vin", "has a letter I, O or Q"), subforms={"vehicle": vehicle})
    assert vehicle.errors == {"vin": ["has a letter I, O or Q"]}
    assert not form.errors


def test_no_field_on_the_form_shows_the_services_own_message():
    form = bound(ClaimForm)
    add_service_error(form, ServiceError("The holder is too young.", fields={"holder": ["too young"]}))
    assert form.non_field_errors() == ["The holder is too young."]


def test_fields_the_form_lacks_are_named_next_to_those_it_has():
    form = bound(ClaimForm)
    error = ServiceError("Two problems.", fields={"description": ["too long"], "loss_type": ["not covered"]})
    add_service_error(form, error)
    assert form.errors["description"] == ["too long"]
    assert form.non_field_errors() == ["loss type: not covered"]


def test_a_model_validation_error_by_field():
    form = bound(ClaimForm)
    error = ValidationError(
        {"description": ["Ensure this value has at most 10 characters."], NON_FIELD_ERRORS: ["Clash."]}
    )
    add_service_error(form, error)
    assert form.errors["description"] == ["Ensure this value has at most 10 characters."]
    assert form.non_field_errors() == ["Clash."]


def test_a_model_validation_error_for_a_field_the_form_lacks_is_still_shown():
    form = bound(ClaimForm)
    add_service_error(form, ValidationError({"postal_code": ["Enter a valid postcode."]}))
    assert form.non_field_errors() == ["postal code: Enter a valid postcode."]


def test_a_plain_validation_error_is_form_wide():
    form = bound(ClaimForm)
    add_service_error(form, ValidationError(["First.", "Second."]))
    assert form.non_field_errors() == ["First. Second."]


def test_a_refusal_that_says_nothing_still_blocks_the_form():
    form = bound(ClaimForm)
    add_service_error(form, ServiceError(""))
    assert form.non_field_errors() == [FALLBACK_MESSAGE]
    assert not form.is_valid()
