from django.apps import AppConfig

from insurance.core.roles import Role

# What customers and agents only read about their claims (documents, which they also add, are declared apart).
CLAIM_PARTS = ["extractedfield", "claimevent", "claimdecision", "payment"]


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    role_permissions = {
        # Customers and agents report claims and add documents; they read decisions but never notes or fraud details.
        Role.CUSTOMER: {
            "claim": ["view", "add"],
            "claimdocument": ["view", "add"],
            **{model: ["view"] for model in CLAIM_PARTS},
        },
        Role.AGENT: {
            "claim": ["view", "add"],
            "claimdocument": ["view", "add"],
            **{model: ["view"] for model in CLAIM_PARTS},
        },
        # Underwriters act as adjusters: they decide, reserve and pay.
        Role.UNDERWRITER: {
            "claim": ["view", "add", "change", "handle", "decide", "reserve", "pay"],
            "claimdocument": ["view", "add"],
            "extractedfield": ["view", "change"],
            "claimnote": ["view", "add"],
            "reservechange": ["view"],
            **{model: ["view"] for model in ["claimevent", "claimdecision", "payment"]},
        },
        Role.ANALYTICS_READER: {
            "claim": ["view"],
            "payment": ["view"],
            "reservechange": ["view"],
            "claimdecision": ["view"],
        },
    }
