"""Helpers shared by the security tests (import as ``security.helpers``)."""
from __future__ import annotations

# The demo account that plays each role (password = username + "-demo-pass").
ROLE_USERS = {
    "cashier": "cashier",
    "supervisor": "supervisor",
    "accountant": "accountant",
    "registrar": "registrar",
    "admin": "admin",
}
