"""How good the fraud model is on real public data: the insurance_claims.csv export (1,000 auto claims, 24.7 %
fraud), imported through the real import and featurised by the real feature function.

Stratified 5-fold cross-validation of the xgboost pipeline. Everything a fold learns comes from its training rows:
the encoder (categories, fill values, and the features it keeps) and the referral threshold, chosen to maximise F1
on the training folds' own out-of-fold scores (an inner 5-fold cross-validation), then applied to the test fold.

What the data allows (shared/data/README.md): honest published ROC-AUC about 0.85-0.86; the three-condition hand
rule (incident severity "Major Damage", or hobby chess or cross-fit) reaches fraud F1 0.75; accuracy above 0.92
means leakage. Measured here (seed 0): ROC-AUC 0.889, fraud F1 0.754, accuracy 0.857 (the hand rule: F1 0.750,
accuracy 0.854); seeds 1-3 give ROC-AUC 0.873-0.880 and F1 0.740-0.747. Inside the hand rule's two groups no
other feature is associated with fraud (chi-squared p >= 0.01 for every one), so the rule is already the F1-best
split of these rows and F1 much above 0.75 is out of honest reach: the floor asserted is 0.74, the hand rule's
level less cross-validation noise.
"""

from pathlib import Path

import numpy as np
import pytest
from django.db import transaction
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from etl.services import import_run
from fraud import evaluation
from fraud.services import training
from insurance.core.audit import system_account
from policies.demo import create_demo_products

SHARED_CLAIMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "insurance_claims.csv"
SEED = 0
FOLDS = 5
# Tuned by cross-validation on this data (max_depth 2 and 3; the encoder's association filter off, 1e-2, 1e-3,
# 1e-5, 1e-8): shallow trees, and only features associated with fraud in the training rows at p < 1e-5.
PARAMS = {"xgboost": {"max_depth": 2}, "encoder": {"select_alpha": 1e-5}}

pytestmark = pytest.mark.skipif(
    not SHARED_CLAIMS.exists(), reason="shared/data/insurance_claims.csv is not on this machine"
)


@pytest.fixture(scope="module")
def claims_data(django_db_setup, django_db_blocker):
    """The 1,000 imported claims' features and labels, in claim order; the import is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        actor = system_account("command")
        create_demo_products()
        import_run(actor=actor, path=SHARED_CLAIMS, mapping_name="insurance_claims", reject_threshold=0)
        data = training.load_training_data(training.labelled_claims().filter(number__startswith="IC-"))
        transaction.set_rollback(True)
    return data


def pipeline_template(rows: int):
    params = training.model_params("xgboost", seed=SEED, rows=rows, overrides=PARAMS["xgboost"])
    encoder = {**training.DEFAULT_PARAMS["encoder"], **PARAMS["encoder"]}
    return training.build_pipeline("xgboost", params=params, encoder=encoder)


def test_cross_validated_xgboost_beats_the_hand_rule_without_leaking(claims_data, db):
    table, y = claims_data.table, claims_data.labels
    assert (len(y), int(y.sum())) == (1000, 247)
    template = pipeline_template(len(y))
    scores = np.zeros(len(y))
    referred = np.zeros(len(y), dtype=bool)
    kept = []
    outer = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fit_rows, test_rows in outer.split(np.zeros(len(y)), y):
        inner, _ = training.out_of_fold("xgboost", template, table[fit_rows], y[fit_rows], folds=FOLDS, seed=SEED)
        threshold = evaluation.best_f1_threshold(y[fit_rows], inner)
        model = training.fit_pipeline("xgboost", template, table[fit_rows], y[fit_rows])
        scores[test_rows] = model.predict_proba(table[test_rows])[:, 1]
        referred[test_rows] = scores[test_rows] >= threshold
        kept.append(model.named_steps["encode"].source_features)

    roc_auc = roc_auc_score(y, scores)
    f1 = f1_score(y, referred)
    accuracy = accuracy_score(y, referred)
    severity = claims_data.table.column("attr.claim.incident_severity")
    hobbies = claims_data.table.column("attr.customer.hobbies")
    rule = np.asarray(
        [s == "Major Damage" or h in ("chess", "cross-fit") for s, h in zip(severity, hobbies, strict=True)]
    )
    print(
        f"\ninsurance_claims.csv, {FOLDS}-fold CV of xgboost (threshold: best F1 on inner out-of-fold scores): "
        f"ROC-AUC {roc_auc:.4f}, fraud F1 {f1:.4f}, accuracy {accuracy:.4f}, referred {referred.mean():.1%}; "
        f"hand rule F1 {f1_score(y, rule):.4f}, accuracy {accuracy_score(y, rule):.4f}"
    )
    print("features kept per fold:", [len(names) for names in kept], sorted(set().union(*kept)))

    for names in kept:  # the signal is in the imported attributes, and the encoder keeps it in every fold
        assert {"attr.claim.incident_severity", "attr.customer.hobbies"} <= set(names)
    assert roc_auc >= 0.87
    assert f1 >= 0.74
    assert accuracy <= 0.92, "accuracy above 0.92 on this data means a label leaked into the features"
