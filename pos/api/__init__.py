"""The JSON API (/api/v1): one APIBlueprint; each area adds its routes in its own module.

Request and response bodies are pydantic models: the same classes validate requests and
generate the OpenAPI document at /api/v1/openapi.json (flask-openapi3).
"""
from __future__ import annotations

from flask_openapi3 import APIBlueprint

bearer = [{"bearer": []}, {"session": []}]
api = APIBlueprint("api", __name__, url_prefix="/api/v1", abp_security=bearer)

# Each module registers its routes on `api` when imported.
from pos.api import auth  # noqa: E402,F401
from pos.api import till  # noqa: E402,F401
from pos.api import registry  # noqa: E402,F401
from pos.api import reports  # noqa: E402,F401
