"""Reading untrusted documents in a child process with a memory ceiling and a deadline.

A small PDF can inflate to gigabytes when its streams are decoded (a PDF bomb), and a crafted TIFF can make a
decoder spin. Both would take down a web process or a Celery worker, and with late acknowledgement the same message
would come back forever. So inspection and extraction run in a forked child whose address space is capped
(`DOCUMENT_MEMORY_LIMIT_MB` above what it starts with) and which is killed after a deadline; either outcome becomes
a `DocumentRejected`, which the caller turns into a 400 or a failed document.
"""

import faulthandler
import multiprocessing
import resource
from collections.abc import Callable

from django.conf import settings

from .errors import DocumentRejected, ExtractionFailed, OcrUnavailable

_PAGE_SIZE = resource.getpagesize()


def _current_address_space() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * _PAGE_SIZE


def _child(connection, work: Callable, data: bytes, budget: int) -> None:
    faulthandler.disable()  # a decoder aborting on the memory cap is an expected outcome, not a crash to dump
    try:
        limit = _current_address_space() + budget
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        connection.send(("ok", work(data)))
    except DocumentRejected as rejection:
        connection.send(("rejected", rejection.code, rejection.message))
    except OcrUnavailable as error:
        connection.send(("unavailable", error.message))
    except ExtractionFailed as error:
        connection.send(("failed", error.message))
    except MemoryError:
        connection.send(
            (
                "rejected",
                "too_complex",
                "Reading the document needs more memory than allowed (a PDF or decompression bomb?).",
            )
        )
    finally:
        connection.close()


def run_isolated(work: Callable, data: bytes, *, timeout: float):
    """`work(data)` in a memory-capped child; its result, or the exception it raised, re-raised here."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    budget = settings.DOCUMENT_MEMORY_LIMIT_MB * 1024 * 1024
    child = context.Process(target=_child, args=(sender, work, data, budget), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise DocumentRejected("too_slow", f"Reading the document took longer than {timeout:.0f} seconds.")
        try:
            outcome = receiver.recv()
        except EOFError:  # the child died without answering: killed for its memory, most likely
            raise DocumentRejected(
                "too_complex", "Reading the document needs more memory than allowed (a PDF or decompression bomb?)."
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receiver.close()
    kind, *rest = outcome
    if kind == "ok":
        return rest[0]
    if kind == "rejected":
        raise DocumentRejected(*rest)
    if kind == "unavailable":
        raise OcrUnavailable(rest[0])
    raise ExtractionFailed(rest[0])
