"""ETL: bringing books in and taking facts out.

Owns imports of customers, policies and claims from legacy CSV and Excel exports (declarative mapping files, row
validation with reject files, upserts by natural key with history, a COPY fast path on PostgreSQL), the seeded
synthetic book (`generate_demo_data`) and incremental warehouse extracts (`export_extract`). Depends on claims,
policies and accounts; fraud and reports may read what it loads, never the other way round.
"""
