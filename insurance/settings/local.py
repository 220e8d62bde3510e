"""Development settings: debug on, console email, eager Celery unless a broker is configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# The demo has no fraud model until the fraud app trains one; let clean demo claims be approved automatically.
CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK = env.bool("CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK", default=True)
