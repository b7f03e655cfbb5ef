"""Typed resident ID numbers, as a table both checkers answer: subsidies/resident_id.py on the
server and pos/web/static/resident_id.js on a till with the network gone.  decision_table.py
writes the table with Python's answers to subsidies/resident_id_cases.json;
test_resident_id_table.py runs it through both."""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from subsidies.resident_id import ResidentIdError, parse_resident_id


class IdCase(NamedTuple):
    name: str
    typed: str
    today: date | None = date(2026, 3, 2)


STANDARD_EXAMPLE = "11010519491231002X"  # GB 11643-1999's own example

ID_CASES: tuple[IdCase, ...] = (
    # valid, as typed at the till
    IdCase("valid: the standard's example", STANDARD_EXAMPLE),
    IdCase("valid: check digit 2", "330204196003011232"),
    IdCase("valid: lower-case x", "11010519491231002x"),
    IdCase("valid: spaces between the groups", " 110105 19491231 002x "),
    IdCase("valid: full-width digits and x", "１１０１０５１９４９１２３１００２ｘ"),
    IdCase("valid: ideographic space", "110105\u300019491231002X"),
    IdCase("valid: born 29 February of a leap year", "440304198002290014"),
    IdCase("valid: born 1900-01-01", "11010519000101001X"),
    IdCase("valid: born today", "33020420260302123X"),
    IdCase("valid: a future birth date when today is not known", "330204202603031235", None),
    # mistyped
    IdCase("nothing typed", ""),
    IdCase("only spaces", "   "),
    IdCase("a first-generation number", "110105491231002"),
    IdCase("17 characters", "11010519491231002"),
    IdCase("19 characters", "11010519491231002X1"),
    IdCase("16 characters", "1101051949123100"),
    IdCase("a letter inside", "11010519491231A02X"),
    IdCase("X twice", "1101051949123100XX"),
    IdCase("Y at the end", "11010519491231002Y"),
    IdCase("an emoji inside counts as one character", "1101051949123100😀X"),
    IdCase("region 00", "00000019491231002X"),
    IdCase("region 99", "99010519491231002X"),
    IdCase("region 91", "91010519491231002X"),
    IdCase("31 February", "11010519490231002X"),
    IdCase("month 13", "11010519491331002X"),
    IdCase("day 00", "11010519491200002X"),
    IdCase("before 1900", "11010518991231002X"),
    IdCase("29 February of a common year", "440304198102290014"),
    IdCase("29 February 1900, not a leap year", "440304190002290014"),
    IdCase("29 February 2000, a leap year: only the check is wrong", "440304200002290013"),
    IdCase("valid: born 29 February 2000", "440304200002290014"),
    IdCase("born tomorrow", "330204202603031235"),
    IdCase("wrong check digit", "110105194912310021"),
    IdCase("wrong check character X", "33020419600301123X"),
    IdCase("the last two digits before the check swapped", "11010519491231020X"),
)


def python_answer(case: IdCase) -> dict:
    """What subsidies/resident_id.py answers, in the JSON form the till's port gives."""
    try:
        parsed = parse_resident_id(case.typed, today=case.today)
    except ResidentIdError as e:
        return {"ok": False, "code": e.code, "message_zh": e.message_zh, "message_en": e.message_en}
    return {"ok": True, "number": parsed.number, "region_code": parsed.region_code,
            "birth_date": parsed.birth_date.isoformat()}


def id_table(about: str) -> dict:
    """The table as JSON-ready data, each case with Python's answer."""
    return {"about": about,
            "cases": [{"name": c.name, "typed": c.typed, "today": c.today.isoformat() if c.today else None,
                       "expected": python_answer(c)} for c in ID_CASES]}
