"""`manage.py train_fraud_model [--algorithms xgboost,logistic,forest] [--review-budget 0.1] [--seed N] [--promote]
[--json]`: train fraud models on the concluded investigations (`fraud.services.training.train`, the same function
the weekly task calls) and print their figures; with --promote the best by PR-AUC goes through the registry's
champion/challenger check (`registry.promote`; the first model, with no champion, is promoted with force)."""

import io
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table

from fraud.choices import ModelStage
from fraud.models import ModelVersion
from fraud.services import registry, training
from insurance.core.commands import AuditedCommand
from insurance.core.exceptions import ServiceError


def plot_dir() -> Path:
    return Path(settings.BASE_DIR) / "var" / "fraud"


class Command(AuditedCommand):
    help = (
        "Train fraud models on the claims whose investigation concluded: a time-based holdout (the newest claims), "
        "stratified cross-validation on the rest, the referral threshold for the review budget, each model stored "
        "as a staging version with its metrics and plot (also written to var/fraud/model-v<N>.png). Skipped when "
        "the labels, feature schema and settings are those of existing versions (--force retrains)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--algorithms",
            default=",".join(training.DEFAULT_ALGORITHMS),
            help="comma-separated, from %(default)s (default all)",
        )
        parser.add_argument(
            "--review-budget",
            type=float,
            default=None,
            help="share of claims the fraud team reviews (default settings.FRAUD_REVIEW_BUDGET or 0.10)",
        )
        parser.add_argument("--seed", type=int, default=0, help="default %(default)s")
        parser.add_argument("--holdout-fraction", type=float, default=0.2, help="newest share held out (0.2)")
        parser.add_argument("--cv-folds", type=int, default=5, help="cross-validation folds (default %(default)s)")
        parser.add_argument("--force", action="store_true", help="train even when nothing changed")
        parser.add_argument("--promote", action="store_true", help="promote the best model if it beats production")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options) -> None:
        quiet = options["json"] or options["verbosity"] == 0
        try:
            result = training.train(
                actor=self.actor,
                algorithms=[name for name in options["algorithms"].split(",") if name.strip()],
                review_budget=options["review_budget"],
                seed=options["seed"],
                holdout_fraction=options["holdout_fraction"],
                cv_folds=options["cv_folds"],
                force=options["force"],
                progress=None if quiet else lambda message: self.stderr.write(f"  {message}"),
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        plots = {version.version: self._write_plot(version) for version in result.versions}
        promotion = self._promote(result.best) if options["promote"] and result.best is not None else None
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(result, plots, promotion), indent=2, default=str))
            return
        if result.skipped:
            self.stdout.write(f"Nothing changed: {result.message}. Skipped (--force retrains).")
        else:
            self.stdout.write(
                f"Trained on {result.training_rows:,} claims, held out the newest {result.holdout_rows:,} "
                f"(from {result.cutoff:%Y-%m-%d}) in {result.seconds.get('total', 0):.1f} s."
            )
        self.stdout.write(_table(result.versions))
        for number, path in plots.items():
            self.stdout.write(f"Plot of v{number}: {path}")
        if result.best is not None:
            self.stdout.write(f"Best by holdout PR-AUC: v{result.best.version} ({result.best.algorithm}).")
        if promotion is not None:
            write = self.stdout.write if promotion["promoted"] else self.stderr.write
            write(promotion["message"])

    def _write_plot(self, version: ModelVersion) -> str | None:
        plot = ModelVersion.objects.filter(pk=version.pk).values_list("plot", flat=True).first()
        if not plot:
            return None
        directory = plot_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"model-v{version.version}.png"
        path.write_bytes(bytes(plot))
        return str(path)

    def _promote(self, best: ModelVersion) -> dict:
        first = not ModelVersion.objects.filter(stage=ModelStage.PRODUCTION).exists()
        try:
            promoted = registry.promote(actor=self.actor, version=best, force=first)
        except ServiceError as error:
            return {"promoted": False, "version": best.version, "message": f"Not promoted: {error.message}"}
        how = " (the first production model)" if first else ""
        return {
            "promoted": True,
            "version": promoted.version,
            "message": f"v{promoted.version} is now the production model{how}.",
        }


def _figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(versions: list[ModelVersion]) -> str:
    table = Table(title="Fraud models (time holdout; cross-validation on the training part)")
    for column in (
        "version",
        "algorithm",
        "ROC-AUC",
        "PR-AUC",
        "CV ROC / PR",
        "F1",
        "recall@budget",
        "precision@budget",
        "Brier",
        "tp fp fn tn",
        "threshold",
        "flag-rate ratio",
        "recall ratio",
    ):
        table.add_column(column, justify="left" if column == "algorithm" else "right")
    for version in versions:
        holdout = (version.metrics or {}).get("holdout", {})
        cv = (version.metrics or {}).get("cv", {})
        confusion = holdout.get("confusion", {})
        fairness = holdout.get("fairness", {})
        table.add_row(
            f"v{version.version}",
            version.algorithm,
            _figure(holdout.get("roc_auc")),
            _figure(holdout.get("pr_auc")),
            f"{_figure(cv.get('roc_auc_mean'))} / {_figure(cv.get('pr_auc_mean'))}",
            _figure(holdout.get("f1")),
            _figure(holdout.get("recall_at_budget")),
            _figure(holdout.get("precision_at_budget")),
            _figure(holdout.get("brier")),
            " ".join(str(confusion.get(key, "-")) for key in ("tp", "fp", "fn", "tn")),
            f"{version.threshold:.4f} ({version.review_budget:.0%})",
            _figure(fairness.get("max_flag_rate_ratio")),
            _figure(fairness.get("max_recall_ratio")),
        )
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue().rstrip("\n")


def _as_json(result: training.TrainingResult, plots: dict, promotion: dict | None) -> dict:
    return {
        "skipped": result.skipped,
        "message": result.message,
        "fingerprint": result.fingerprint,
        "training_rows": result.training_rows,
        "holdout_rows": result.holdout_rows,
        "cutoff": result.cutoff,
        "seconds": result.seconds,
        "best": result.best.version if result.best is not None else None,
        "versions": [
            {
                "version": version.version,
                "algorithm": version.algorithm,
                "stage": version.stage,
                "threshold": version.threshold,
                "review_budget": version.review_budget,
                "holdout": _headline(version.metrics.get("holdout", {})),
                "cv": {key: value for key, value in version.metrics.get("cv", {}).items() if key != "oof"},
                "plot": plots.get(version.version),
            }
            for version in result.versions
        ],
        "promotion": promotion,
    }


def _headline(metrics: dict) -> dict:
    keys = (
        "n",
        "positives",
        "roc_auc",
        "pr_auc",
        "f1",
        "precision",
        "recall",
        "accuracy",
        "flag_rate",
        "recall_at_budget",
        "precision_at_budget",
        "brier",
        "confusion",
    )
    found = {key: metrics.get(key) for key in keys}
    fairness = metrics.get("fairness", {})
    found["fairness"] = {
        "max_flag_rate_ratio": fairness.get("max_flag_rate_ratio"),
        "max_recall_ratio": fairness.get("max_recall_ratio"),
        **{
            attribute: {
                "flag_rate_ratio": fairness.get(attribute, {}).get("flag_rate_ratio"),
                "recall_ratio": fairness.get(attribute, {}).get("recall_ratio"),
            }
            for attribute in ("age_band", "sex", "region")
        },
    }
    return found
