"""Reports: analytics for BI tools and managers.

Owns the analytics fact feeds under /api/analytics/ (read by Tableau and Power BI), KPIs computed in the database,
customer segmentation, exports (CSV, Tableau Hyper) and the KPI dashboard. Reads every other app; nothing imports it.
"""
