"""Server runtime, not data: gunicorn's worker class (`gthread_worker`), the deadline on every
PostgreSQL round trip (`db_watchdog`), the start path (`start.sh`, `port_check`) and the data
update gunicorn's master runs at start-up and then daily (`auto_update`). No Flask here."""
