"""Policies: what the insurer sells and every change in a policy's life.

Owns products (coverages, rating tables, underwriting rules, claim thresholds), quotes and premium rating with
their breakdown, policies and their insured risks, the lifecycle (quote, bind, endorse, renew, cancel, reinstate,
lapse, expire), instalments, and underwriting referrals. Depends on accounts.
"""
