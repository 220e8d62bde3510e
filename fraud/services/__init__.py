"""Every write of the fraud app, by concern: `training` (fit and register models), `registry` (load, promote, roll
back, replay), `scoring` (score a claim, rescore in batches) and `monitoring` (drift and realised performance)."""
