"""The KPI filters, one form for the KPI API and the dashboard: a product and a period of whole months."""

import re
from datetime import date

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone

from policies.models import Product

from .kpis import MAX_MONTHS, KpiQuery, default_query

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthField(forms.CharField):
    """A calendar month written YYYY-MM (what `<input type="month">` sends), as the 1st of that month."""

    def to_python(self, value) -> date | None:
        value = super().to_python(value)
        if not value:
            return None
        match = MONTH.match(value)
        if match is None:
            raise forms.ValidationError("Enter a month as YYYY-MM, e.g. 2026-03.", code="invalid")
        year, month = int(match[1]), int(match[2])
        if not (1 <= month <= 12 and 1900 <= year <= 2999):
            raise forms.ValidationError(f"{value} is not a month.", code="invalid")
        return date(year, month, 1)


class KpiFilterForm(forms.Form):
    """Everything is optional: by default the twelve months up to and including this one, every product."""

    product = forms.CharField(
        required=False, max_length=40, help_text="A product code; every product in your scope when absent."
    )
    from_month = MonthField(
        required=False, label="From", help_text="First month, YYYY-MM (default: eleven months before `to_month`)."
    )
    to_month = MonthField(required=False, label="To", help_text="Last month, YYYY-MM, inclusive (default: this month).")

    def clean_product(self) -> str | None:
        code = self.cleaned_data.get("product") or None
        if code and not Product.objects.filter(code=code).exists():
            raise forms.ValidationError(f"No product has the code {code!r}.", code="invalid_choice")
        return code

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        default = default_query(timezone.now().date())
        last = cleaned.get("to_month") or default.last_month
        first = cleaned.get("from_month") or last - relativedelta(months=11)
        if first > last:
            raise forms.ValidationError({"from_month": "Must not be after to_month."})
        span = (last.year - first.year) * 12 + last.month - first.month + 1
        if span > MAX_MONTHS:
            raise forms.ValidationError({"from_month": f"A period spans at most {MAX_MONTHS} months ({span} asked)."})
        cleaned["from_month"], cleaned["to_month"] = first, last
        return cleaned

    def query(self) -> KpiQuery:
        """The validated query; call after `is_valid()`."""
        data = self.cleaned_data
        return KpiQuery(first_month=data["from_month"], last_month=data["to_month"], product=data["product"])
