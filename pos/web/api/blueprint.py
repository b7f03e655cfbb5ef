"""The JSON API's blueprint (/api/v1), on which each module of this package adds its routes.

Every refusal answers the one error shape, :class:`~pos.web.api.schemas.ErrorOut`.  The
error answers any operation may give are declared here once, for every operation
(``COMMON_ERRORS``); an operation's own ``responses=`` adds its success answer and the
refusals of what it does (``ERRORS``, ``THROTTLED``, 428...).
"""
from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint

from pos.web.api.schemas import ErrorOut

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}


def refusal(description: str, **extra: Any) -> dict[str, Any]:
    """An error answer in the OpenAPI document: ``{"error": {...}}`` and what it means."""
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}, **extra}


#: What any operation may answer, whatever it does: the request cannot be read (400: a
#: header, a date, the CSRF token of a signed-in page), who is calling (401, 403), a body
#: over the size limit (413), input refused by the models or the input policy (422,
#: ``problems`` names the fields), the database cannot be written or is busy (503).
COMMON_ERRORS: dict[int, Any] = {
    400: refusal("The request is malformed: a header, a date or month, or the page's CSRF token (csrf_failed)."),
    401: refusal("Not signed in (not_signed_in), or a wrong username or password (bad_credentials)."),
    403: refusal("The caller's role or canteen may not do this (forbidden, other_canteen, ...), or the account "
                 "must choose a new password first (password_change_required)."),
    413: refusal("The request body is over the size limit."),
    422: refusal("What was sent cannot be accepted: invalid_request (with `problems`, one line per field) or a "
                 "refusal of the rules (insufficient_cash, weak_password, ...)."),
    503: refusal("The database cannot be written, reached or is busy (storage_unavailable, database_unavailable, "
                 "database_busy), or a PDF cannot be made (pdf_font_missing); nothing was changed.  Try again later.",
                 headers={"Retry-After": {"description": "seconds to wait before trying again",
                                          "schema": {"type": "string"}}}),
}

#: Added by operations that look records up or change their state: no such record or
#: canteen (404, e.g. unknown_canteen, unknown_sale), a state that does not allow it now (409).
ERRORS: dict[int, Any] = {
    404: refusal("No such record or canteen (unknown_canteen, unknown_sale, diner_not_found, ...)."),
    409: refusal("The record's state does not allow this now (day_closed, shift_already_open, price_changed "
                 "with the new `quote`, ...)."),
}

#: Added by operations that check a password or a supervisor's PIN.
THROTTLED: dict[int, Any] = {
    429: refusal("Too many wrong passwords or PINs from this address (too_many_attempts, too_many_pin_attempts); "
                 "wait and try again."),
}


def pdf(description: str) -> dict[str, Any]:
    """A PDF answer in the OpenAPI document."""
    return {"description": description, "content": {"application/pdf": {"schema": {"type": "string",
                                                                                     "format": "binary"}}}}


bearer = [{"bearer": []}, {"session": []}]
api = APIBlueprint("api", __name__, url_prefix="/api/v1", abp_security=bearer, abp_responses=COMMON_ERRORS)

__all__ = ["COMMON_ERRORS", "ERRORS", "THROTTLED", "ErrorOut", "api", "pdf", "refusal"]
