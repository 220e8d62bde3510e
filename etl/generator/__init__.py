"""A reproducible synthetic insurance book with learnable, noisy fraud patterns (`manage.py generate_demo_data`).

What it writes: agents and customers (users in the Agent and Customer groups, with profiles: Faker names,
addresses, phones, emails, bank accounts, region, sex, date of birth), policies on the demo products (rated by
the real rating engine) with coverage lines, the insured vehicle, property or person and instalments (paid, due,
overdue, void), and claims inside their policy's cover with reserve movements, payments, a short timeline and the
outcome of concluded investigations; for a bounded number of claims a rendered invoice image with its fields.
Identifiers are its own (GP-0000001, GC-0000001, GEN-C0000001, gen-c0000001), never the system's POL-/CLM- numbers.

Reproducible: the book is a function of the seed, the number of claims and documents and the as-of date. The plan
(`plan.py`) draws the structure; every record is then built from the plan and a generator seeded by its position,
and upserted by natural key, so the same arguments write the same rows and a second run changes nothing.

Fraud. Each claim has indicators, drawn more often for a hidden 2 % of shady customers (and 40 % of ring members),
who also claim three times as often:

=========================== ====== ===============================================================================
indicator                   weight how it shows in the data
=========================== ====== ===============================================================================
early_in_term                 1.4  incident within 30 days of the policy's effective date
late_in_term                  0.9  incident within the last 21 days before expiry
late_report                   1.5  `reported_at` 30 days or more after `incident_at`
inflated                      1.8  amount 2 to 3.5 times the loss's real cost (its invoice shows the real cost);
                                   ordinary amounts are lognormal around a median per loss type
repeat_claimant               0.7  the claimant has 4 or more claims in the book
ring                          1.2  the claimant is in a ring of 3 to 8 customers sharing an address, a phone or a
                                   bank account (3 % of customers; nobody else shares them)
reused_document               1.6  the invoice also appears on another claim of the ring or of the claimant: the
                                   very same file (same sha256) or its invoice number on a new document (both
                                   claims count; about 20 % of the rendered documents are in such pairs)
weekend_night_no_police       1.4  Saturday or Sunday between 22:00 and 05:00 and no police report
=========================== ====== ===============================================================================

The claim is fraud with probability sigmoid(-5.3 + the weights present + 0.5 if the customer is shady + N(0, 0.7))
(`claims.WEIGHTS`): a hidden term and noise, so no rule recovers the label, and each indicator also occurs by chance
on honest claims. About 3.5 % of claims are fraud. Fraud is found out only when an investigation concludes (90 % of
fraud is investigated, 30 % to 70 % of other claims, more with more indicators): `Claim.investigation_outcome` is
then confirmed_fraud (the claim was denied) or legitimate (paid); otherwise it stays unknown, and undetected fraud is
paid like any claim. About a third of claims are labelled, 8 % to 9 % of them confirmed fraud; a logistic regression
on simple features of the rows reaches a cross-validated ROC-AUC of about 0.8, no single feature above 0.7 (the
summary of each run reports its figures).
"""

from .plan import SIZES
from .run import BATCH_SIZE, DEFAULT_DOCUMENTS, DEFAULT_SEED, Summary, generate_book, recorded_run

__all__ = ["BATCH_SIZE", "DEFAULT_DOCUMENTS", "DEFAULT_SEED", "SIZES", "Summary", "generate_book", "recorded_run"]
