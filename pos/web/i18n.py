"""Chinese first, English on request.

Source strings are written in Chinese; English comes from gettext catalogues
(``pos/web/translations/en/*.po``), read with Babel at start-up so there is no compile step.
One catalogue per area keeps translators (and reviewers) on small files.
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request

from pos.access import ROLE_NAMES
from subsidies.vocabulary import (MEAL_PERIOD_NAMES, SUBSIDY_KIND_NAMES, TENDER_NAMES, TENDERS, WORKER_CATEGORY_NAMES,
                                  Names, name_of)

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("zh", "en")


def load_catalogues() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for lang_dir in sorted(TRANSLATIONS.iterdir()) if TRANSLATIONS.exists() else []:
        table: dict[str, str] = {}
        for po in sorted(lang_dir.glob("*.po")):
            with po.open("rb") as f:
                for msg in read_po(f):
                    if msg.id and msg.string:
                        table[msg.id] = msg.string
        out[lang_dir.name] = table
    return out


def current_language() -> str:
    lang = getattr(g, "lang", None)
    if lang:
        return lang
    lang = request.args.get("lang") or request.cookies.get("lang") or current_app.config["CANTEEN"].language
    g.lang = lang if lang in LANGUAGES else "zh"
    return g.lang


def gettext(message: str, **params) -> str:
    lang = current_language()
    if lang != "zh":
        message = current_app.extensions["canteen_i18n"].get(lang, {}).get(message, message)
    return message.format(**params) if params else message


def role_name(role: str) -> str:
    """A staff role as people call it, in the current language."""
    return gettext(ROLE_NAMES.get(role, role))


def named(names: dict[str, Names], code: str | None) -> str:
    """A code's name from one of the word lists of :mod:`subsidies.vocabulary`, in the
    current language."""
    return name_of(names, code, current_language())


def init_i18n(app: Flask) -> None:
    app.extensions["canteen_i18n"] = load_catalogues()
    app.jinja_env.globals.update(_=gettext, current_language=current_language, role_name=role_name, named=named,
                                 TENDERS=TENDERS, TENDER_NAMES=TENDER_NAMES, SUBSIDY_KIND_NAMES=SUBSIDY_KIND_NAMES,
                                 WORKER_CATEGORY_NAMES=WORKER_CATEGORY_NAMES, MEAL_PERIOD_NAMES=MEAL_PERIOD_NAMES)
