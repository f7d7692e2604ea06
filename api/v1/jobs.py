"""`GET /api/v1/jobs/<id>`: the state of an on-demand backfill job."""

from flasgger import swag_from
from flask import Response, current_app
from flask_restful import Resource

from api.docs import spec_path
from api.errors import error_response
from api.responses import json_response


class JobStatus(Resource):
    """Thin resource: look the job up on Redis."""

    @swag_from(spec_path("job.yml"))
    def get(self, job_id: str) -> Response:
        """Queued, started, finished (with what was stored) or failed (with why)."""
        if not current_app.config["REDIS_URL"] or len(job_id) > 200:
            return error_response(404, f"Unknown job: {job_id[:200]}")
        from api.jobs import job_status

        status = job_status(job_id)
        if status is None:
            return error_response(404, f"Unknown job: {job_id}")
        return json_response(status, headers={"Cache-Control": "no-store"})
