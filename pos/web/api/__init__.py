"""The JSON API (/api/v1): one blueprint (:mod:`pos.web.api.blueprint`); each module of this
package adds its routes — sign-in tokens, the till, the registry, reports, corrections.

Request and answer bodies are pydantic models (:mod:`pos.web.api.schemas`,
:mod:`pos.web.api.answers`): the same classes validate requests, make the answers and
generate the OpenAPI document at /api/v1/openapi.json (flask-openapi3).
"""
from __future__ import annotations

from pos.web.api import (auth_api, claims_api, corrections_api, registry_api, reports_api,  # noqa: F401
                         till_api)  # (they add their routes)
from pos.web.api import rights_api  # noqa: F401  (a diner's export and erasure)
from pos.web.api import eligibility_api  # noqa: F401  (life events, expiring verifications)
from pos.web.api import devices_api  # noqa: F401  (till devices and their free-meal leases)
from pos.web.api import offline_api  # noqa: F401  (the offline kit)
from pos.web.api import menu_api  # noqa: F401  (dishes, their labels and energy)
from pos.web.api.blueprint import api  # noqa: F401
