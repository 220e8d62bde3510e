from django.db import models


class LineOfBusiness(models.TextChoices):
    AUTO = "auto", "Auto"
    HOME = "home", "Home"
    HEALTH = "health", "Health"
    LIFE = "life", "Life"


class PolicyStatus(models.TextChoices):
    QUOTE = "quote", "Quote"
    REFERRED = "referred", "Referred to underwriter"
    DECLINED = "declined", "Declined"
    QUOTE_EXPIRED = "quote_expired", "Quote expired"
    IN_FORCE = "in_force", "In force"
    CANCELLED = "cancelled", "Cancelled"
    LAPSED = "lapsed", "Lapsed"
    EXPIRED = "expired", "Expired"
    RENEWED = "renewed", "Renewed"


class RatingInput(models.TextChoices):
    """What a rating factor or underwriting rule reads from a quote (see `policies.rating.rating_inputs`)."""

    HOLDER_AGE = "holder_age", "Driver or holder age (years)"
    VEHICLE_AGE = "vehicle_age", "Vehicle age (years)"
    VEHICLE_VALUE = "vehicle_value", "Vehicle value"
    VEHICLE_USE = "vehicle_use", "Vehicle use"
    PROPERTY_AGE = "property_age", "Property age (years)"
    PROPERTY_VALUE = "property_value", "Property value"
    TERRITORY = "territory", "Territory (region)"
    PRIOR_CLAIMS = "prior_claims_3y", "Claims in the last 3 years"
    SMOKER = "smoker", "Smoker"
    LIMIT = "limit", "Coverage limit"
    DEDUCTIBLE = "deductible", "Deductible"


class FactorKind(models.TextChoices):
    BAND = "band", "Numeric bands"
    LOOKUP = "lookup", "Exact value"


class RuleOperator(models.TextChoices):
    LT = "lt", "<"
    LTE = "lte", "≤"
    GT = "gt", ">"
    GTE = "gte", "≥"
    EQ = "eq", "="
    IN = "in", "one of"


class UnderwritingOutcome(models.TextChoices):
    PASS = "pass", "Pass"
    REFER = "refer", "Refer"
    DECLINE = "decline", "Decline"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class InstalmentStatus(models.TextChoices):
    DUE = "due", "Due"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class EndorsementKind(models.TextChoices):
    VEHICLE = "vehicle", "Change of vehicle"
    ADDRESS = "address", "Change of address"
    LIMIT = "limit", "Change of limit"
    DEDUCTIBLE = "deductible", "Change of deductible"


class VehicleUse(models.TextChoices):
    PRIVATE = "private", "Private"
    COMMUTING = "commuting", "Commuting"
    BUSINESS = "business", "Business"
