"""`POST /api/v1/tokens` (Basic credentials, or a renewable Bearer token -> a new Bearer token) and
`DELETE` (revoke it)."""

from typing import ClassVar

from flasgger import swag_from
from flask import Response, g
from flask_restful import Resource

from api.access.auth import CHALLENGES, as_utc, auth, issue_token, remember_address, renewable, revoke_token, token_auth
from api.access.rate_limits import rate_limit
from api.docs import spec_path
from api.errors import ApiError
from api.responses import json_response, no_content


@rate_limit("RATELIMIT_TOKENS")
class Tokens(Resource):
    """Thin resource: authenticate, then issue or revoke (a stricter limit than the default)."""

    method_decorators: ClassVar[dict] = {"post": [auth.login_required], "delete": [token_auth.login_required]}

    @swag_from(spec_path("tokens_post.yml"))
    def post(self) -> Response:
        """Exchange Basic credentials (or a renewable Bearer token) for a token that lives TOKEN_TTL seconds."""
        user = auth.current_user()
        renewed = g.current_token if g.get("auth_scheme") == "bearer" else None
        if renewed is not None:
            if not renewable(renewed):
                detail = "This token may not be renewed: log in with Basic credentials"
                raise ApiError(401, detail, headers={"WWW-Authenticate": CHALLENGES})
            remember_address(user)  # the owner renews from here: the account lock spares this address
        token, stored = issue_token(user, renewed)
        body = {"token": token, "token_type": "Bearer", "expires_at": as_utc(stored.expires_at).isoformat()}
        return json_response(body, 201, headers={"Cache-Control": "no-store"})

    @swag_from(spec_path("tokens_delete.yml"))
    def delete(self) -> Response:
        """Revoke the Bearer token this request presents."""
        revoke_token(g.current_token)
        return no_content()
