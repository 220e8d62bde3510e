from django.db import models


class LossType(models.TextChoices):
    COLLISION = "collision", "Collision"
    THEFT = "theft", "Theft"
    FIRE = "fire", "Fire"
    WATER_DAMAGE = "water_damage", "Water damage"
    STORM = "storm", "Storm"
    VANDALISM = "vandalism", "Vandalism"
    INJURY = "injury", "Injury"
    MEDICAL = "medical", "Medical"
    DEATH = "death", "Death"
    OTHER = "other", "Other"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    INVESTIGATION = "investigation", "Investigation"
    APPROVED = "approved", "Approved"
    PARTIALLY_APPROVED = "partially_approved", "Partially approved"
    DENIED = "denied", "Denied"
    PAID = "paid", "Paid"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class InvestigationOutcome(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    CONFIRMED_FRAUD = "confirmed_fraud", "Confirmed fraud"
    LEGITIMATE = "legitimate", "Legitimate"


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", "Approve automatically"
    DENY = "deny", "Deny"
    INVESTIGATE = "investigate", "Send to investigation"
    REVIEW = "review", "Route to a person"


class FraudRisk(models.TextChoices):
    NOT_CHECKED = "not_checked", "Not checked"
    PENDING = "pending", "Score pending"
    LOW = "low", "Low"
    HIGH = "high", "High"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for OCR"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DocumentType(models.TextChoices):
    UNKNOWN = "unknown", "Not classified yet"
    INVOICE = "invoice", "Invoice or receipt"
    REPAIR_ESTIMATE = "repair_estimate", "Repair estimate"
    MEDICAL_BILL = "medical_bill", "Medical bill"
    POLICE_REPORT = "police_report", "Police report"
    CLAIM_FORM = "claim_form", "Claim form"
    PHOTO = "photo", "Photo"
    OTHER = "other", "Other"


# Documents whose total is a cost the claimed amount can be checked against.
COSTED_DOCUMENT_TYPES = frozenset({DocumentType.INVOICE, DocumentType.REPAIR_ESTIMATE, DocumentType.MEDICAL_BILL})
