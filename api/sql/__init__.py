"""The API's data layer: every SQL statement the endpoints run, as plain functions over a
SQLAlchemy session (no Flask).

- `tables`: the table aliases, the dialect-aware INSERT and the lookups several modules share;
- `dashboard`, `search`: the dashboard ranking and the search by name or symbol;
- `currencies`: the catalogue and one coin's summary; `history`: its price history (candles);
- `writes`: the write endpoints' transactions;
- `functions`: date arithmetic SQLite and PostgreSQL spell differently.

The tables themselves are the models of `utilities/schema.py`.
"""
