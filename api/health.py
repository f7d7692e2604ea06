"""`/health` (liveness) and `/ready` (readiness) for load balancers and orchestrators."""

import logging

from flasgger import swag_from
from flask import Blueprint, Response, current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.access.rate_limits import rate_limit_exempt
from api.cache.response import response_cache
from api.docs import spec_path
from api.extensions import db
from api.freshness import current_freshness, freshness_fields, observe
from api.responses import json_response
from api.startup import startup_pending

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
@rate_limit_exempt
@swag_from(spec_path("health.yml"))
def health() -> Response:
    """Alive: answers without touching any dependency."""
    return json_response({"status": "ok"})


@blueprint.get("/ready")
@rate_limit_exempt
@swag_from(spec_path("ready.yml"))
def ready() -> Response:
    """Ready when the database answers a trivial query; the cache's state is reported, not required.

    Every answer, 200 or 503, is the readiness status document (`status`, `database`, `cache`;
    a 503 adds a `detail` for people): not an error, so it is returned here, not raised.
    """
    cache = response_cache.state()
    try:
        db.session.execute(text("SELECT 1"))
    except DBAPIError as error:
        db.session.rollback()
        log.warning("Readiness check failed: database unreachable: %s", error.orig)
        body = {"detail": "Database unavailable", "status": "unavailable", "database": "unavailable", "cache": cache}
        return json_response(body, 503)
    if startup_pending(current_app):
        body = {"detail": "Starting: seeding the database", "status": "starting", "database": "ok", "cache": cache}
        return json_response(body, 503, headers={"Retry-After": "5"})
    freshness = current_freshness()
    observe(freshness)
    body = {"status": "ready", "database": "ok", "cache": cache} | freshness_fields(freshness)
    return json_response(body)
