"""Accounts: who people are and what they may do.

Owns the custom user model, the role groups (Customer, Agent, Underwriter, Admin, AnalyticsReader) and their model
permissions, customer and agent profiles (an agent serves a set of customers), time-boxed per-object access grants
(django-guardian), the system accounts that Celery and commands act as, and the `create_user` command.
"""
