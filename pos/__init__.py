"""The canteen till: the store (``pos.store``), how sales reach it (``pos.recording``) and
the Flask app with its areas (``pos.web``).

:func:`create_app` is the app factory.  It imports the web layer when called, not when
this package is imported, so the store, the rules and the reports load without Flask.
"""
from __future__ import annotations


def create_app(test_config=None):
    """Build the Flask app (:func:`pos.web.create_app`)."""
    from pos.web import create_app as build

    return build(test_config)
