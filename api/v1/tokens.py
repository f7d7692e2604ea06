"""`POST /api/v1/tokens` (Basic credentials -> a Bearer token) and `DELETE` (revoke it)."""

from typing import ClassVar

from flasgger import swag_from
from flask import Response, g
from flask_restful import Resource

from api.access.auth import as_utc, basic_auth, issue_token, revoke_token, token_auth
from api.access.rate_limits import rate_limit
from api.docs import spec_path
from api.responses import json_response, no_content


@rate_limit("RATELIMIT_TOKENS")
class Tokens(Resource):
    """Thin resource: authenticate, then issue or revoke (a stricter limit than the default)."""

    method_decorators: ClassVar[dict] = {"post": [basic_auth.login_required], "delete": [token_auth.login_required]}

    @swag_from(spec_path("tokens_post.yml"))
    def post(self) -> Response:
        """Exchange Basic credentials for a Bearer token that expires after TOKEN_TTL seconds."""
        token, stored = issue_token(basic_auth.current_user())
        body = {"token": token, "token_type": "Bearer", "expires_at": as_utc(stored.expires_at).isoformat()}
        return json_response(body, 201, headers={"Cache-Control": "no-store"})

    @swag_from(spec_path("tokens_delete.yml"))
    def delete(self) -> Response:
        """Revoke the Bearer token this request presents."""
        revoke_token(g.current_token)
        return no_content()
