"""Server runtime, not data: gunicorn's worker class (`gthread_worker`) and the deadline on every
PostgreSQL round trip (`db_watchdog`). No Flask here."""
