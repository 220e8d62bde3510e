"""Claims: from first notice of loss to payment.

Owns claims and their timeline and notes, uploaded documents with OCR and extracted fields, the decision engine
(coverage, fraud, cost, auto-approval or routing to a person), reserves and payments. It defines the interface
through which a fraud score is supplied; the fraud app fills it in. Depends on policies and accounts.
"""
