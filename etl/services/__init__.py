"""Every write of the etl app: imports (`imports`) and warehouse extracts (`extracts`). The synthetic book writes
through the same upserts (`etl.generator`)."""

from insurance.core.exceptions import ServiceError

from .extracts import extract_watermark, extract_write
from .imports import RUNNABLE, available_mappings, import_batch_create, import_run, mapping_path

__all__ = [
    "RUNNABLE",
    "ServiceError",
    "available_mappings",
    "extract_watermark",
    "extract_write",
    "import_batch_create",
    "import_run",
    "mapping_path",
]
