"""The OpenAPI 3.0 document: flasgger merges the YAML fragments of this folder into it.

`template.yml` is the top (info, shared components); each operation's fragment is attached to
its resource method with `swag_from(spec_path(...))`. The same document is served at
`/openapi.json` and, for existing clients, `/apispec_1.json`.
"""

from pathlib import Path

import yaml

DOCS_DIR = Path(__file__).resolve().parent
OPENAPI_VERSION = "3.0.3"
SPEC_ROUTES = {"apispec_1": "/apispec_1.json", "openapi": "/openapi.json"}


def spec_path(name: str) -> str:
    """Absolute path of a YAML fragment in this folder."""
    return str(DOCS_DIR / name)


def template() -> dict:
    """The top of the OpenAPI document: info and the shared components."""
    with open(DOCS_DIR / "template.yml", encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def every_rule(rule: object) -> bool:
    """Both routes serve the whole API (flasgger filters rules and models per spec route)."""
    return True


def swagger_config() -> dict:
    """flasgger's settings: OpenAPI 3 at both routes, Swagger UI at /apidocs/ from this origin.

    `auth: {}` because flasgger's page renders `let auth_config = <auth>;` verbatim, and
    its default (Python's None) is a ReferenceError in the browser. `ui_params_text` is pasted
    into Swagger UI's options as JavaScript: it names functions of a static file, nothing more.
    """
    return {
        "openapi": OPENAPI_VERSION,
        "headers": [],
        "specs": [
            {"endpoint": endpoint, "route": route, "rule_filter": every_rule, "model_filter": every_rule}
            for endpoint, route in SPEC_ROUTES.items()
        ],
        "static_url_path": "/flasgger_static",
        "swagger_ui": True,
        "specs_route": "/apidocs/",
        "auth": {},
        "title": template()["info"]["title"],  # the browser tab's title (flasgger's default: "Flasgger")
        # Functions from api/static/swagger-ui-fixes.js (loaded by templates/flasgger/head.html).
        "ui_params_text": "{responseInterceptor: CryptoApiSwagger.joinHeaderLists, "
        "plugins: [SwaggerUIBundle.plugins.DownloadUrl, CryptoApiSwagger.readableErrors]}",
    }
