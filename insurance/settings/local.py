"""Development settings: debug on, console email, eager Celery unless a broker is configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
