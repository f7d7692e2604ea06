#!/bin/sh
# The one start path of `make run` and the Docker image (docs/operations.md):
#   1. the port is free and the settings read (else one line, and stop);
#   2. `flask db upgrade`: if the database does not answer yet (exit 69), the server starts anyway
#      and the migration retries every 10 s in the background, one line per attempt (/ready
#      answers 503 until the schema is there and seeded); any other failure, e.g. APP_ENV=production
#      without SECRET_KEY (exit 78), stops here with its own line;
#   3. exec gunicorn with gunicorn.conf.py, which reads .env as the app does.
# Usage: sh serving/start.sh [HOST]   (HOST default 0.0.0.0; flask, gunicorn and python on PATH)
set -u
bind=$(python -m serving.port_check "${1:-0.0.0.0}") || exit $?
flask db upgrade
status=$?
if [ "$status" -eq 69 ]; then
    echo "start: serving anyway; flask db upgrade retries every 10 s in the background" >&2
    (until flask db upgrade; do sleep 10; done) &
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
exec gunicorn -c gunicorn.conf.py --bind "$bind" app:app
