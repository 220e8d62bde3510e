"""Portal forms of policies. They check only the shape of what is typed (a number, a date, a required field);
the rules of insurance (which dates, which limits, a VIN's alphabet) stay in the services, whose errors
`insurance.core.forms.add_service_error` puts back on the form fields they name."""

from decimal import Decimal

from django import forms
from django.utils import timezone

from insurance.core.forms import DateInput

from .choices import VehicleUse
from .models import Policy, Product
from .services import MAX_INSURED_VALUE  # repeated on the fields so the browser refuses a larger value early


class QuoteStartForm(forms.Form):
    """Step one of a quote: the product, and (for an agent) the customer it is for."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), to_field_name="code", empty_label="Choose a product"
    )
    customer = forms.ModelChoiceField(queryset=None, empty_label="Choose a customer", required=True)

    def __init__(self, *args, products, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        if customers is None:
            del self.fields["customer"]
        else:
            self.fields["customer"].queryset = customers


class QuoteForm(forms.Form):
    """The terms asked for: start date, how to pay, claims history and the optional coverages."""

    effective_date = forms.DateField(
        label="Cover starts on", widget=DateInput, help_text="Between today and a year from today."
    )
    instalment_count = forms.TypedChoiceField(
        label="Pay", choices=Policy._meta.get_field("instalment_count").choices, coerce=int, initial=1
    )
    prior_claims_3y = forms.IntegerField(label="Claims in the last 3 years", min_value=0, max_value=50, initial=0)
    coverages = forms.MultipleChoiceField(
        label="Optional coverages",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Included coverages are always on the policy.",
    )

    def __init__(self, *args, product: Product, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("effective_date", timezone.localdate())
        super().__init__(*args, **kwargs)
        optional = [coverage for coverage in product.coverages.all() if not coverage.is_mandatory]
        if optional:
            self.fields["coverages"].choices = [
                (
                    coverage.code,
                    f"{coverage.name} (limit {coverage.default_limit}, deductible {coverage.default_deductible})",
                )
                for coverage in optional
            ]
        else:
            del self.fields["coverages"]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "effective_date": data["effective_date"],
            "instalment_count": data["instalment_count"],
            "prior_claims_3y": data["prior_claims_3y"],
            "coverages": [{"coverage": code} for code in data.get("coverages") or []],
        }


class VehicleForm(forms.Form):
    make = forms.CharField(max_length=60)
    model = forms.CharField(max_length=60)
    year = forms.IntegerField(label="Year of manufacture", min_value=1900, max_value=2100)
    vin = forms.CharField(
        label="VIN", min_length=17, max_length=17, help_text="The 17-character vehicle identification number."
    )
    value = forms.DecimalField(
        label="Value", min_value=Decimal("0.01"), max_value=MAX_INSURED_VALUE, decimal_places=2, max_digits=14
    )
    use = forms.ChoiceField(choices=VehicleUse.choices, initial=VehicleUse.PRIVATE)


class PropertyForm(forms.Form):
    address_line1 = forms.CharField(label="Address", max_length=200)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    region = forms.CharField(
        label="Region", max_length=100, required=False, help_text="State or county; it sets the territory rate."
    )
    construction_year = forms.IntegerField(label="Year built", min_value=1600, max_value=2100)
    value = forms.DecimalField(
        label="Rebuild value", min_value=Decimal("0.01"), max_value=MAX_INSURED_VALUE, decimal_places=2, max_digits=14
    )


class PersonForm(forms.Form):
    full_name = forms.CharField(label="Insured person", max_length=200)
    date_of_birth = forms.DateField(widget=DateInput)
    smoker = forms.BooleanField(label="Smoker", required=False)
    health_declarations = forms.CharField(
        label="Health declarations",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One condition per line, as you would describe it; leave empty if none.",
    )

    def clean_health_declarations(self) -> list[str]:
        text = self.cleaned_data.get("health_declarations") or ""
        return [line.strip()[:200] for line in text.splitlines() if line.strip()]


# The form for the risk each line of business insures (keys as `services.RISK_OF_LINE` names them).
RISK_FORMS: dict[str, type[forms.Form]] = {"vehicle": VehicleForm, "property": PropertyForm, "person": PersonForm}


class DecisionForm(forms.Form):
    """An underwriter's decision on a referred quote; the reason goes on the referral and the timeline."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")], widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. Recorded with the decision and shown on the policy's history.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=255, help_text="Required. Recorded on the policy's history.")


class RenewalWindowForm(forms.Form):
    days = forms.IntegerField(
        label="Days",
        min_value=1,
        max_value=365,
        required=False,
        help_text="Renewals due within this many days, and lapses as many days back.",
    )
