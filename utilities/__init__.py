"""Flask-free building blocks: plain SQLAlchemy engines and connections, no app context.

- `schema`: the database schema (declarative `Base`, the models, the dialect-aware INSERT);
- `csv_source`: reading the daily coin CSVs; `seeding`: the start-up inspector and CSV seeder;
- `exchange_client`: daily candles from an exchange through ccxt; `exchange_ingest`: storing them;
- `bulk_store`: bulk writes of daily records (COPY on PostgreSQL) for seeding and ingestion;
- `data_report`: gaps, lineage and suspicious candles of the stored series;
- `advisory_lock`: one runner at a time across hosts;
- `source_plan`: each coin's exchange markets and aggregator id (`data/sources.toml`).

Server runtime (gunicorn's worker class, the PostgreSQL watchdog) lives in `serving/`.

None of them imports Flask (tests/repo/test_flask_free.py checks it).
"""
