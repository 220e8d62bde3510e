"""The "fraud" health check on `/health/`: which model scores claims, and whether it has drifted.

Without a production model the claims are scored by the rules: that is a working state (ok), said in the detail.
The check fails only when the production model's latest monitoring snapshot is an alert (see
`fraud.services.monitoring` for the thresholds), because its scores can no longer be trusted.
"""

from insurance.core.health import HealthResult, register

from .choices import MonitoringStatus


@register("fraud")
def fraud() -> HealthResult:
    # Imported here: this module loads at start-up (`FraudConfig.ready`), monitoring pulls in numpy and scikit-learn.
    from .services import monitoring

    version = monitoring.production_version()
    if version is None:
        return {"ok": True, "degraded": True, "detail": "no production model: rule-based scores"}
    detail = f"production model v{version.version} ({version.algorithm})"
    latest = monitoring.latest_snapshot(version)
    if latest is None:
        return {"ok": True, "detail": f"{detail}, no monitoring snapshot yet"}
    score_psi = "n/a" if latest.score_psi is None else f"{latest.score_psi:.3f}"
    detail += f", last snapshot {latest.status} ({latest.window_end:%Y-%m-%d}), PSI score {score_psi}"
    return {"ok": latest.status != MonitoringStatus.ALERT, "detail": detail, "status": latest.status}
