from django.apps import AppConfig

from insurance.core.roles import Role

CUSTOMER_POLICY_VERBS = ["view", "add", "bind", "endorse", "renew", "cancel"]
POLICY_PARTS = [
    "coverageline",
    "insuredvehicle",
    "insuredproperty",
    "insuredperson",
    "instalment",
    "endorsement",
    "policyevent",
]
CATALOGUE = ["product", "coverage", "ratingfactor", "ratingband"]


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Policies"

    role_permissions = {
        Role.CUSTOMER: {"policy": CUSTOMER_POLICY_VERBS, **{model: ["view"] for model in POLICY_PARTS + CATALOGUE}},
        Role.AGENT: {"policy": CUSTOMER_POLICY_VERBS, **{model: ["view"] for model in POLICY_PARTS + CATALOGUE}},
        Role.UNDERWRITER: {
            "policy": [*CUSTOMER_POLICY_VERBS, "change", "reinstate", "underwrite", "pay"],
            "referral": ["view", "change"],
            "underwritingrule": ["view"],
            **{model: ["view"] for model in POLICY_PARTS + CATALOGUE},
        },
        Role.ANALYTICS_READER: {
            "policy": ["view"],
            "coverageline": ["view"],
            "instalment": ["view"],
            "endorsement": ["view"],
            "product": ["view"],
            "coverage": ["view"],
        },
    }
