"""Passwords and PINs, hashed with scrypt (``hashlib.scrypt``, from OpenSSL).

Hashes are written as ``scrypt:N:r:p$salt$hex`` — the form the Werkzeug library writes,
so accounts made by earlier releases keep signing in.  Only the hash is ever stored.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string

from pos.config import scrypt_n

R, P = 8, 1
SALT_CHARS = string.ascii_letters + string.digits
SALT_LENGTH = 16


def _scrypt(secret: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()


def hash_secret(secret: str) -> str:
    """A new salted scrypt hash of ``secret``."""
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(SALT_LENGTH))
    n = scrypt_n(os.environ)  # pos.config.SCRYPT_N unless lowered for development
    return f"scrypt:{n}:{R}:{P}${salt}${_scrypt(secret, salt, n, R, P)}"


def check_secret(stored: str, secret: str) -> bool:
    """True when ``secret`` hashes to ``stored``; False for anything else, a malformed hash included."""
    try:
        method, salt, expected = stored.split("$", 2)
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        found = _scrypt(secret, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, expected)
