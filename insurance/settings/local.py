"""Development settings: debug on, console email, eager Celery unless a broker is configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# Only matters with the fraud check turned off (CLAIMS_FRAUD_ASSESSOR=""): then a demo may still auto-approve.
CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK = env.bool("CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK", default=True)
