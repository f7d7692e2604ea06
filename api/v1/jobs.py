"""`GET /api/v1/jobs/<id>`: the state of an on-demand backfill job."""

from flasgger import swag_from
from flask import Response, current_app
from flask_restful import Resource

from api.docs import spec_path
from api.errors import ApiError
from api.responses import json_response

# Seconds a client should wait before asking again while Redis (the job queue) is down.
JOBS_RETRY_AFTER = 5


class JobStatus(Resource):
    """Thin resource: look the job up on Redis."""

    @swag_from(spec_path("job.yml"))
    def get(self, job_id: str) -> Response:
        """Queued, started, finished (with what was stored) or failed (with why)."""
        if not current_app.config["REDIS_URL"]:
            raise ApiError(404, f"Unknown job: {job_id[:200]}")
        from api.backfill_jobs import JobsUnavailable, job_status

        try:
            status = job_status(job_id)
        except JobsUnavailable:
            detail = "Job queue unavailable (Redis not answering); retry later"
            raise ApiError(503, detail, headers={"Retry-After": str(JOBS_RETRY_AFTER)}) from None
        if status is None:
            raise ApiError(404, f"Unknown job: {job_id[:200]}")
        return json_response(status, headers={"Cache-Control": "no-store"})
