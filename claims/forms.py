"""Portal forms of claims. They check the shape of the input; the services decide the rest (cover, amounts,
states) and their `ServiceError`s come back to the form as field errors through
`insurance.core.forms.add_service_error`."""

from datetime import datetime, time
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone

from insurance.core.exceptions import ServiceError
from insurance.core.forms import DateInput

from . import services
from .choices import LossType

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_AMOUNT = Decimal("1000000000")
CENT = Decimal("0.01")
MAX_DOCUMENTS = 20
# What the file picker offers; the server judges the bytes (`services.document_prepare`), never the name.
DOCUMENT_ACCEPT = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,application/pdf,image/jpeg,image/png,image/tiff"


class MoneyField(forms.DecimalField):
    """A positive amount to the cent: "250" is kept as 250.00, as the API and the database would keep it."""

    def __init__(self, **kwargs):
        super().__init__(**MONEY, min_value=Decimal("0.01"), max_value=MAX_AMOUNT, **kwargs)

    def clean(self, value):
        amount = super().clean(value)
        return amount.quantize(CENT) if amount is not None else None


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list of uploads (empty files pass here, so that the document check
    can name them)."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not uploads:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        cleaned = []
        for upload in uploads:
            cleaned.append(super().clean(upload, initial))
        return cleaned


def document_input(*, required: bool) -> MultipleFileField:
    return MultipleFileField(
        label="Documents",
        required=required,
        help_text=(
            f"PDF, JPEG, PNG or TIFF, up to {settings.DOCUMENT_MAX_BYTES // (1024 * 1024)} MiB each, at most "
            f"{MAX_DOCUMENTS} files: invoices, repair estimates, photos, a police report."
        ),
        widget=MultipleFileInput(
            attrs={"accept": DOCUMENT_ACCEPT, "data-max-bytes": settings.DOCUMENT_MAX_BYTES, "multiple": True}
        ),
    )


class DocumentsMixin:
    """Reads every upload and inspects it (`services.document_prepare`) before anything is stored; each rejected
    file is named in its own error, and one rejected file rejects the whole form."""

    def clean_documents(self) -> list[services.PreparedDocument]:
        uploads = self.cleaned_data.get("documents") or []
        if len(uploads) > MAX_DOCUMENTS:
            raise forms.ValidationError(f"Send at most {MAX_DOCUMENTS} files at once ({len(uploads)} were sent).")
        prepared, errors = [], []
        for upload in uploads:
            data = upload.read(settings.DOCUMENT_MAX_BYTES + 1)
            try:
                prepared.append(services.document_prepare(name=upload.name, data=data))
            except ServiceError as error:
                reasons = "; ".join(error.fields.get("documents", [error.message]))
                errors.append(f"{services.safe_display_name(upload.name)}: {reasons}")
        if errors:
            errors.append("Nothing was saved: remove or replace the file(s) named above and send the form again.")
            raise forms.ValidationError(errors)
        return prepared


class ClaimCreateForm(DocumentsMixin, forms.Form):
    """First notice of loss: the policy, what happened, the amount and the documents."""

    policy = forms.ModelChoiceField(queryset=None, empty_label="Choose a policy")
    incident_date = forms.DateField(label="Date of the loss", widget=DateInput)
    incident_time = forms.TimeField(
        label="Time of the loss",
        required=False,
        help_text="If you know it.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    incident_place = forms.CharField(label="Where it happened", max_length=255)
    loss_type = forms.ChoiceField(label="What happened", choices=[("", "Choose a type of loss"), *LossType.choices])
    description = forms.CharField(
        label="Description", max_length=5000, widget=forms.Textarea(attrs={"rows": 5}), help_text="In your words."
    )
    amount_claimed = MoneyField(label="Amount claimed", help_text="In the policy's currency.")
    police_report_filed = forms.BooleanField(label="A police report was filed", required=False)
    police_report_reference = forms.CharField(label="Police report reference", max_length=60, required=False)
    witness_count = forms.IntegerField(label="Number of witnesses", min_value=0, max_value=100, initial=0)
    witness_details = forms.CharField(
        label="Witness details", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    documents = document_input(required=False)

    # Service field names that this form calls differently.
    SERVICE_ALIASES = {"incident_at": "incident_date"}

    def __init__(self, *args, policies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = policies
        self.fields["policy"].label_from_instance = self.policy_label

    @staticmethod
    def policy_label(policy) -> str:
        holder = policy.holder.get_full_name() or policy.holder.username
        return f"{policy.number} · {policy.product.name} · {holder} (until {policy.expiry_date:%Y-%m-%d})"

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("incident_date")
        if day is not None:
            moment = datetime.combine(day, cleaned.get("incident_time") or time(0, 0))
            cleaned["incident_at"] = timezone.make_aware(moment, timezone.get_current_timezone())
        if cleaned.get("police_report_reference") and not cleaned.get("police_report_filed"):
            cleaned["police_report_filed"] = True
        return cleaned

    def submit_arguments(self) -> dict:
        """The keyword arguments of `services.claim_submit` (all but the actor)."""
        data = self.cleaned_data
        names = (
            "policy",
            "incident_at",
            "incident_place",
            "loss_type",
            "description",
            "amount_claimed",
            "police_report_filed",
            "police_report_reference",
            "witness_count",
            "witness_details",
            "documents",
        )
        return {name: data[name] for name in names}


class DocumentAddForm(DocumentsMixin, forms.Form):
    """More documents for a claim: the answer to a request, or evidence that came later."""

    documents = document_input(required=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=255, help_text="Recorded on the claim and sent to the claimant."
    )


class PartialApproveForm(forms.Form):
    amount = MoneyField(label="Amount approved")
    reason = forms.CharField(label="Reason", max_length=255, help_text="Why less than the amount claimed.")


class DocumentRequestForm(forms.Form):
    message = forms.CharField(
        label="What is needed",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the claimant, and shown on the claim until they upload.",
    )


class FieldVerifyForm(forms.Form):
    """Confirm an extracted value as it is, or correct it (the field itself is named by the page, unprefixed)."""

    value = forms.CharField(label="Value", max_length=255)
