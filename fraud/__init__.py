"""Fraud: scoring every claim with a model the insurer can retrain, compare and roll back.

Owns the feature function and its schema version, training (xgboost and scikit-learn baselines), the model
registry (artifacts, metrics, stages), scores with their explanations, and drift monitoring. Depends on claims.
"""
