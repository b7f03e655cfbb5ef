"""One input policy at the edge: what text, nesting and dates the app accepts from outside,
whichever way they come — a JSON body, a form, a query string, a path segment or a CLI option.

* Text is normalised to NFC, so one name typed on two keyboards is stored once.  Passwords
  and PINs are checked but kept as typed (they are compared with what was hashed).
* Control characters (Unicode category Cc, NUL among them) and lone surrogates are refused,
  naming the field: PostgreSQL cannot store a NUL and SQLite would keep it.  Tab and newline
  are allowed only in multi-line text (reasons, notes, a claim's explanations).
* A name — a diner's, a dish's, a staff member's — holds at least one visible character (not
  only a zero-width space, format characters or blanks) and no bidirectional control
  character, which could make a masked name read as someone else's.
* A JSON body is at most :data:`MAX_JSON_DEPTH` arrays or objects deep, counted on its bytes
  before anything parses it; its size is bounded by the app's ``MAX_CONTENT_LENGTH`` (413).
* Business dates lie between :data:`FIRST_DAY` and a year after today; months likewise.

The rules are plain functions; :func:`check_request` applies them to every request's path,
query string, form and JSON nesting (a before-request hook), the API's base models
(pos/web/api/schemas.py) to the text of JSON bodies, and the CLI to its options.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask import Flask, request
from werkzeug.datastructures import MultiDict

from pos.clock import now_utc
from pos.refusal import Refusal

#: How deep arrays and objects may nest in a JSON body (a sale is three deep).
MAX_JSON_DEPTH = 32
#: The first business date the app accepts: no canteen ran this till before it.
FIRST_DAY = date(2000, 1, 1)

# The kinds of text a field holds.
LINE, TEXT, NAME, SECRET = "line", "text", "name", "secret"
#: Fields by name (in forms and JSON alike; a form's ``explain-<check>`` is multi-line too).
FIELD_KINDS = {
    "name": NAME, "display_name": NAME, "name_en": NAME,
    "reason": TEXT, "note": TEXT, "notes": TEXT, "explanations": TEXT,
    "password": SECRET, "old_password": SECRET, "new_password": SECRET, "new_password_again": SECRET,
    "pin": SECRET, "pin_again": SECRET,
    "title": NAME, "body": TEXT,  # a notice on the public page
}
#: What a zh reader is told the field is; other fields are "提交的内容".
FIELD_LABELS_ZH = {"name": "名称", "display_name": "姓名", "name_en": "英文名", "reason": "原因", "note": "备注",
                   "username": "用户名", "password": "密码", "reference": "付款参考号", "q": "搜索内容",
                   "title": "标题", "body": "正文"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, newline, CR allowed
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern).
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


class TextProblem(ValueError):
    """What is wrong with one piece of text, without naming its field: ``code``, and the
    reason in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def kind_of(field: str) -> str:
    """The kind of text a field holds, by its name (the last part of a dotted path)."""
    name = field.rpartition(".")[2]
    if name.startswith("explain-"):
        return TEXT
    return FIELD_KINDS.get(name, LINE)


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_GLYPHS


def clean(value: str, kind: str = LINE) -> str:
    """``value`` as the app keeps it (NFC; a multi-line text's line ends as ``\\n``), or
    :class:`TextProblem`."""
    if value.isascii() and value.isprintable():  # most input: nothing to normalise or refuse
        if kind == NAME and value and value.isspace():
            raise TextProblem("name_not_visible", "须含有可见的文字", "holds no visible character")
        return value
    found = _SURROGATE.search(value)
    if found:
        raise TextProblem("not_unicode", "含有无效的字符",
                          f"holds an invalid character (a lone surrogate U+{ord(found.group()):04X})")
    found = (_CONTROL_BUT_LAYOUT if kind == TEXT else _CONTROL).search(value)
    if found:
        raise TextProblem("control_character", "含有不允许的控制字符",
                          f"holds the control character U+{ord(found.group()):04X}, which is not allowed")
    if kind == SECRET:
        return value
    value = unicodedata.normalize("NFC", value)
    if kind == TEXT:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if kind == NAME and value:
        found = _BIDI.search(value)
        if found:
            raise TextProblem("name_bidi_control", "不能含有文字方向控制字符",
                              f"holds the bidirectional control character U+{ord(found.group()):04X}, "
                              "which names may not hold")
        if not any(_visible(ch) for ch in value):
            raise TextProblem("name_not_visible", "须含有可见的文字", "holds no visible character")
    return value


def refusal(field: str, problem: TextProblem) -> Refusal:
    """The 422 answer naming the field (``query.diner``, ``form.name``, ``path.sale_id``)."""
    label = FIELD_LABELS_ZH.get(field.rpartition(".")[2], "提交的内容")
    return Refusal("invalid_text", f"{label}{problem.zh}", f"{field} {problem.en}",
                   problems=[f"{field}: {problem.en}"])


def checked(value: str, field: str, kind: str | None = None) -> str:
    """:func:`clean`, refusing (422, naming ``field``) what the policy does not accept."""
    try:
        return clean(value, kind or kind_of(field))
    except TextProblem as e:
        raise refusal(field, e) from None


# -- JSON nesting ----------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``data`` nests arrays and objects more than ``limit`` deep, counted on its
    bytes (brackets inside strings do not count), so a parser never recurses that far."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = 0
    for b in brackets:
        if b in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


# -- dates and months ------------------------------------------------------------------------------

def last_day(today: date | None = None) -> date:
    """The last business date accepted: a year after today."""
    today = today or now_utc().date()
    return today.replace(year=today.year + 1, day=28 if (today.month, today.day) == (2, 29) else today.day)


def day_range() -> tuple[date, date]:
    """The first and last business dates accepted."""
    return FIRST_DAY, last_day()


def check_day(day: date, field: str = "date") -> date:
    """``day``, or ``date_out_of_range`` (422) when it is before :data:`FIRST_DAY` or more
    than a year ahead — no canteen business happens on 0001-01-01 or 9999-12-31."""
    first, last = day_range()
    if not first <= day <= last:
        raise Refusal("date_out_of_range", f"日期须在 {first.isoformat()} 至 {last.isoformat()} 之间",
                      f"{field} must be between {first.isoformat()} and {last.isoformat()}, got {day.isoformat()}",
                      problems=[f"{field}: must be between {first.isoformat()} and {last.isoformat()}"])
    return day


def check_month(first_of_month: date, field: str = "month") -> date:
    """``first_of_month``, or ``month_out_of_range`` (422) outside :data:`FIRST_DAY`'s month
    to the month a year ahead."""
    first, last = FIRST_DAY.replace(day=1), last_day().replace(day=1)
    if not first <= first_of_month <= last:
        raise Refusal("month_out_of_range", f"月份须在 {first:%Y-%m} 至 {last:%Y-%m} 之间",
                      f"{field} must be between {first:%Y-%m} and {last:%Y-%m}, got {first_of_month.isoformat()[:7]}",
                      problems=[f"{field}: must be between {first:%Y-%m} and {last:%Y-%m}"])
    return first_of_month


# -- the before-request hook ----------------------------------------------------------------------

def _cleaned(pairs: MultiDict, where: str) -> MultiDict | None:
    """The multi-dict with every key and value cleaned, or None when nothing changed."""
    out, changed = [], False
    for key, value in pairs.items(multi=True):
        new_key = checked(key, f"{where}.{key!r}", LINE) if not (key.isascii() and key.isprintable()) else key
        if isinstance(value, str):
            new_value = checked(value, f"{where}.{new_key}")
        else:
            new_value = value
        changed = changed or new_key is not key or new_value is not value
        out.append((new_key, new_value))
    return type(pairs)(out) if changed else None


def check_request() -> None:
    """Before every request: the path's segments, the query string and a form, cleaned or
    refused naming the field (422); a JSON body over the size limit (413) or nested too deep
    (422) refused before anything parses it.  The text inside a JSON body is the API's
    models' to check (pos/web/api/schemas.py)."""
    req = request._get_current_object()
    if req.view_args:
        for key, value in req.view_args.items():
            if isinstance(value, str) and not (value.isascii() and value.isprintable()):
                req.view_args[key] = checked(value, f"path.{key}", LINE)
    if req.query_string:
        args = _cleaned(req.args, "query")
        if args is not None:
            req.args = args
            req.__dict__.pop("values", None)
    if req.content_length or req.headers.get("Transfer-Encoding"):
        if req.is_json:
            if json_too_deep(req.get_data(cache=True)):  # 413 from werkzeug when over MAX_CONTENT_LENGTH
                raise Refusal("json_too_deep", "请求内容层次太深",
                              f"the JSON body nests arrays and objects more than {MAX_JSON_DEPTH} deep")
        elif req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = _cleaned(req.form, "form")
            if form is not None:
                req.form = form
                req.__dict__.pop("values", None)


def init_app(app: Flask) -> None:
    app.before_request(check_request)
