"""Flask-free building blocks: plain SQLAlchemy engines and connections, no app context.

- `schema`: the database schema (declarative `Base`, the models, the dialect-aware INSERT);
- `csv_source`: reading the daily coin CSVs; `seeding`: the start-up inspector and CSV seeder;
- `exchange_client`: daily candles from an exchange through ccxt; `exchange_ingest`: storing them;
- `bulk_store`: bulk writes of daily records (COPY on PostgreSQL) for seeding and ingestion;
- `data_report`: gaps, lineage and suspicious candles of the stored series;
- `advisory_lock`: one runner at a time across hosts; `db_watchdog`: a deadline per PostgreSQL
  round trip; `gthread_worker`: gunicorn's gthread worker buffering request headers.

None of them imports Flask (tests/test_flask_free.py checks it).
"""
