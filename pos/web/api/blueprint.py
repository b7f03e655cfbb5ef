"""The JSON API's blueprint (/api/v1), on which each module of this package adds its routes."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint

from pos.web.api.schemas import ErrorOut

bearer = [{"bearer": []}, {"session": []}]
api = APIBlueprint("api", __name__, url_prefix="/api/v1", abp_security=bearer)

#: The error answers every authenticated endpoint may give.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
