"""OpenAPI (Swagger 2.0) fragments that flasgger merges into `/apispec_1.json`."""

from pathlib import Path

import yaml

DOCS_DIR = Path(__file__).resolve().parent


def spec_path(name: str) -> str:
    """Absolute path of a YAML fragment in this folder."""
    return str(DOCS_DIR / name)


def template() -> dict:
    """The top of the OpenAPI document: info and the shared definitions."""
    with open(DOCS_DIR / "template.yml", encoding="utf-8") as stream:
        return yaml.safe_load(stream)
