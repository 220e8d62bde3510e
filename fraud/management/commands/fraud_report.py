"""`manage.py fraud_report [--window-days 30] [--snapshot] [--json]`: the production fraud model and its drift."""

import json

from django.core.management.base import CommandError

from fraud.models import ModelVersion, MonitoringSnapshot
from fraud.services import monitoring
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError

TOP_FEATURES = 10


class Command(AuditedCommand):
    help = (
        "Report the production fraud model (its training metrics) and its latest monitoring snapshot: the features "
        "drifting most (PSI against training), the score's PSI, realised precision and recall on concluded "
        "investigations, and the status (PSI below 0.10 ok, up to 0.25 warn, above alert). --snapshot takes a new "
        "snapshot of the last --window-days days first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--window-days", type=int, default=30, help="window of a new snapshot (default %(default)s)"
        )
        parser.add_argument("--snapshot", action="store_true", help="take a new snapshot now, then report it")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        version = monitoring.production_version()
        latest = None
        if options["snapshot"]:
            try:
                latest = monitoring.snapshot(actor=self.actor, window_days=options["window_days"])
            except ServiceError as error:
                raise CommandError(error.message) from error
        elif version is not None:
            latest = monitoring.latest_snapshot(version)
        report = {"production_model": _model(version), "snapshot": _snapshot(latest)}
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self._print(report)

    def _print(self, report: dict) -> None:
        model = report["production_model"]
        if model is None:
            self.stdout.write("No production model: claims are scored by the rules.")
            return
        self.stdout.write(
            f"Production model v{model['version']} ({model['algorithm']}), promoted {model['promoted_at'] or '-'}, "
            f"trained on {model['training_rows']:,} claims; threshold {model['threshold']:.3f} "
            f"(review budget {model['review_budget']:.0%})"
        )
        if model["metrics"]:
            self.stdout.write("  " + ", ".join(f"{name} {value}" for name, value in model["metrics"].items()))
        snapshot = report["snapshot"]
        if snapshot is None:
            self.stdout.write("No monitoring snapshot yet (fraud_report --snapshot takes one).")
            return
        style = {"ok": self.style.SUCCESS, "warn": self.style.WARNING}.get(snapshot["status"], self.style.ERROR)
        self.stdout.write(
            f"Snapshot {snapshot['window_start']:%Y-%m-%d} to {snapshot['window_end']:%Y-%m-%d}: "
            f"{snapshot['scored']:,} scores, status " + style(snapshot["status"].upper())
        )
        if snapshot["scored"] < monitoring.MIN_SCORES:
            self.stdout.write(f"  fewer than {monitoring.MIN_SCORES} scores: drift is not judged on so few")
        score_psi = snapshot["score_psi"]
        self.stdout.write(f"  score PSI {'n/a' if score_psi is None else f'{score_psi:.3f}'}")
        drifting = list(snapshot["feature_psi"].items())[:TOP_FEATURES]
        if drifting:
            self.stdout.write(f"  top drifting features (PSI, of {len(snapshot['feature_psi'])}):")
            width = max(len(name) for name, _ in drifting)
            for name, value in drifting:
                self.stdout.write(f"    {name:<{width}}  {value:.3f}  {monitoring.status_of(value)}")
        realised = snapshot["realised"]
        self.stdout.write(
            f"  realised on {realised.get('labelled', 0):,} concluded investigations: "
            f"precision {_ratio(realised.get('precision'))} "
            f"({realised.get('true_positives', 0)} of {realised.get('flagged', 0)} flagged), "
            f"recall {_ratio(realised.get('recall'))} "
            f"({realised.get('true_positives', 0)} of {realised.get('confirmed_fraud', 0)} confirmed fraud)"
        )


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _model(version: ModelVersion | None) -> dict | None:
    if version is None:
        return None
    return {
        "version": version.version,
        "algorithm": version.algorithm,
        "promoted_at": version.promoted_at,
        "training_rows": version.training_rows,
        "threshold": version.threshold,
        "review_budget": version.review_budget,
        "metrics": metrics_summary(version.metrics or {}),
    }


def metrics_summary(metrics: dict) -> dict:
    """The headline figures of a model's metrics: its numbers, one level deep (holdout.roc_auc), rounded."""
    summary = {}
    for name, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            summary[name] = round(value, 4)
        elif isinstance(value, dict):
            for inner, inner_value in value.items():
                if isinstance(inner_value, int | float) and not isinstance(inner_value, bool):
                    summary[f"{name}.{inner}"] = round(inner_value, 4)
    return summary


def _snapshot(snapshot: MonitoringSnapshot | None) -> dict | None:
    if snapshot is None:
        return None
    return {
        "model_version": snapshot.model_version.version,
        "window_start": snapshot.window_start,
        "window_end": snapshot.window_end,
        "scored": snapshot.scored,
        "status": snapshot.status,
        "score_psi": snapshot.score_psi,
        # jsonb keeps no key order: sort again, most drifting first.
        "feature_psi": dict(sorted(snapshot.feature_psi.items(), key=lambda item: (-item[1], item[0]))),
        "realised": snapshot.realised,
    }
