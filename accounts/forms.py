"""Portal forms of accounts. Forms only check input; the services write."""

import re

from django import forms

from .models import CustomerProfile

COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
CONTACT_FIELDS = ("phone", "address_line1", "address_line2", "city", "postal_code", "region", "country")


def _model_field(name: str, **overrides) -> forms.Field:
    """The form field the model declares for `name` (length limits, labels and help stay in one place)."""
    return CustomerProfile._meta.get_field(name).formfield(**overrides)


class CustomerContactForm(forms.Form):
    """A customer's contact details and address (what `customer_profile_update` lets a customer change)."""

    phone = _model_field("phone", label="Phone", widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}))
    address_line1 = _model_field(
        "address_line1", label="Address", widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    address_line2 = _model_field(
        "address_line2", label="Address, second line", widget=forms.TextInput(attrs={"autocomplete": "address-line2"})
    )
    city = _model_field("city", label="Town or city", widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    postal_code = _model_field(
        "postal_code", label="Postcode", widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    region = _model_field("region", label="County, state or region")
    country = _model_field(
        "country",
        label="Country",
        help_text="Two-letter code, e.g. GB or US.",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_profile(cls, profile: CustomerProfile, data=None) -> "CustomerContactForm":
        return cls(data=data, initial={name: getattr(profile, name) for name in CONTACT_FIELDS})

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip()
        if not COUNTRY_CODE.match(value):
            raise forms.ValidationError("Enter the two-letter country code, e.g. GB.")
        return value.upper()

    def changes(self) -> dict:
        """Only the fields the customer changed (an unchanged form writes nothing)."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label="Search customers",
        required=False,
        max_length=100,
        help_text="Name, email or customer number.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
