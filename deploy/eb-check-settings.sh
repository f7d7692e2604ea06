#!/bin/bash
# Run by .ebextensions/01_environment.config before `flask db upgrade` (leader instance, as root,
# with the environment properties): name what is missing before the migration fails on it.
# docs/deploy-elastic-beanstalk.md explains each setting.
problems=0

say() {
  echo "eb-check-settings: $*" >&2
  problems=$((problems + 1))
}

on() {
  case "$(echo "${1:-}" | tr '[:upper:]' '[:lower:]')" in
    "" | 0 | false | no | off) return 1 ;;
    *) return 0 ;;
  esac
}

if [ "${#SECRET_KEY}" -lt 32 ]; then
  say "SECRET_KEY is missing or shorter than 32 characters; APP_ENV=production refuses to start without it." \
    "Set it with: eb setenv SECRET_KEY=<64 hex characters from: python3 -c 'import secrets; print(secrets.token_hex(32))'>" \
    "(or at creation: eb create --envvars SECRET_KEY=...)."
fi
if [ -z "${DATABASE_URL:-}" ] && [ -z "${RDS_HOSTNAME:-}" ] && ! on "${ALLOW_SQLITE_IN_PRODUCTION:-}"; then
  say "no database: set DATABASE_URL (eb setenv DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB)" \
    "or attach RDS (eb create --database), which sets RDS_*; each instance would otherwise keep its own SQLite file."
fi
if [ "${problems}" -gt 0 ]; then
  echo "eb-check-settings: ${problems} setting(s) missing; the deployment stops here (docs/deploy-elastic-beanstalk.md)." >&2
  exit 1
fi
echo "eb-check-settings: SECRET_KEY and a database are set."
