"""Load: customers report claims concurrently through gunicorn and PostgreSQL for a fixed time, with no error and no
lost claim. The harness is bench/load_bench.py's (the longer run is `make bench`); here it is bounded: 10 users for
15 seconds. locust runs in a subprocess, so its gevent never patches this process.
"""

import pytest
from django.db import connection

from bench.load_bench import run_load, server_url

pytestmark = pytest.mark.postgres


def test_concurrent_claim_submissions_have_no_errors_and_lose_no_claim():
    result = run_load(
        users=10,
        seconds=15,
        workers=3,
        server=server_url(connection.settings_dict),
        database=f"{connection.settings_dict['NAME']}_load",
    )
    print(result.report())
    assert result.accepted > 0, result.report()
    assert result.errors == 0, result.report()
    assert result.lost == 0, result.report()
