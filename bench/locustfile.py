"""Locust users for bench/load_bench.py: customers reporting claims through the API (`POST /api/claims/`).

Started by the harness as a subprocess (locust brings gevent, which must stay out of pytest). `LOAD_ACCOUNTS` names
a JSON file of customers (token, policy number, loss type); each simulated user reports claims as one of them.
Anything but a 201 is a failure. When locust quits, the figures and the ids of the accepted claims are written to
`LOAD_RESULTS` as JSON, so the harness can print them and look every accepted claim up in the database.
"""

import functools
import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from locust import HttpUser, constant, events, task

ACCEPTED: list[int] = []


@functools.cache
def _accounts() -> Iterator[dict]:
    return itertools.cycle(json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text()))


class Customer(HttpUser):
    """Reports one claim after another, without pausing: the figures are the server's throughput and latency."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.account = next(_accounts())
        self.client.headers["Authorization"] = f"Token {self.account['token']}"

    @task
    def report_a_claim(self) -> None:
        body = {
            "policy": self.account["policy"],
            "incident_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "incident_place": "Junction of High St and Mill Lane, Columbus",
            "loss_type": self.account["loss_type"],
            "description": "Load test: rear-ended at a red light.",
            "amount_claimed": "1200.00",
            "police_report_filed": False,
            "witness_count": 0,
        }
        with self.client.post("/api/claims/", json=body, name="POST /api/claims/", catch_response=True) as response:
            if response.status_code == 201:
                ACCEPTED.append(response.json()["id"])
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


@events.quitting.add_listener
def _write_results(environment, **_kwargs) -> None:
    """The figures as they stand when locust quits (its CSV files are written before the last answers arrive)."""
    total = environment.stats.total
    results = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "requests_per_second": total.total_rps,
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "accepted": ACCEPTED,
    }
    Path(os.environ["LOAD_RESULTS"]).write_text(json.dumps(results))


if __name__ == "__main__":  # `make bench` runs every script here: this one is run by load_bench.py
    print("bench/locustfile.py: the users of bench/load_bench.py, which runs them (nothing to do on its own)")
