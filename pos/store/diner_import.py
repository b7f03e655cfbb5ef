"""Registering many diners at once from a list a community already keeps (a CSV or an
XLSX file): read the file, check every row, and register them all or none.

The file's first row names the columns, in Chinese or English::

    姓名,身份证号,电话,类别,证明,本社区居民
    name,id_number,phone,category,proof,resident

``姓名``, ``身份证号`` and ``本社区居民`` are needed; ``电话``, ``类别`` (empty, or a worker
category by its Chinese or English name or its code) and ``证明`` (the kind of proof seen,
by name or code — 工作证, 用工单位证明… — or else a note of it) may be left out.
``本社区居民`` is 是/否 (yes/no, true/false, y/n, 1/0).

Rows are numbered as the spreadsheet shows them (the header is row 1).  Each row is
registered with :func:`pos.store.diners.register_diner`, so an imported diner passes the
same checks as one registered at the counter; a check run (``write=False``) makes the same
registrations and drops them unsent, so what it reports is what an import would do.  A
row whose ID number is already registered is reported as a match (found through the keyed
pseudonym) and left as it is.

The file is read from bytes in memory: ID numbers are never written to a temporary file,
stored, logged or put in the report other than masked.
"""
from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Iterator

from sqlmodel import Session, select

from pos.models import Diner
from pos.refusal import Refusal
from pos.store.audit import audit, audit_each
from pos.store.diners import id_refusal, mask_name, record_life_event, register_diner
from subsidies.resident_id import ResidentIdError, mask_resident_id, parse_resident_id, pseudonym
from subsidies.vocabulary import WORKER_CATEGORY_NAMES, WORKER_PROOF_NAMES

#: The columns, by the words a header cell may hold (Chinese or English, any case).
HEADERS: dict[str, str] = {
    "姓名": "name", "name": "name",
    "身份证号": "id_number", "身份证号码": "id_number", "id_number": "id_number",
    "电话": "phone", "phone": "phone",
    "类别": "category", "category": "category",
    "证明": "proof", "proof": "proof",
    "本社区居民": "resident", "resident": "resident",
}
#: Columns a file must have.
REQUIRED = ("name", "id_number", "resident")
#: How each column is called, in Chinese and English, in a reason.
COLUMN_NAMES: dict[str, tuple[str, str]] = {
    "name": ("姓名", "name"), "id_number": ("身份证号", "id_number"), "phone": ("电话", "phone"),
    "category": ("类别", "category"), "proof": ("证明", "proof"), "resident": ("本社区居民", "resident"),
}
#: The columns' header row as a template file has it.
HEADER_ROW_ZH = ("姓名", "身份证号", "电话", "类别", "证明", "本社区居民")
HEADER_ROW_EN = ("name", "id_number", "phone", "category", "proof", "resident")


@dataclass(frozen=True)
class Layout:
    """What one kind of list holds: the header words of its columns, the columns it must
    have, each column's name in a reason, and its header row in Chinese and English."""

    headers: dict[str, str]
    required: tuple[str, ...]
    names: dict[str, tuple[str, str]]
    row_zh: tuple[str, ...]
    row_en: tuple[str, ...]


#: A list of diners to register.
REGISTRATION = Layout(HEADERS, REQUIRED, COLUMN_NAMES, HEADER_ROW_ZH, HEADER_ROW_EN)
#: A list of registered diners who have died (civil affairs' list): the date benefits stop.
DECEASED = Layout(
    headers={"姓名": "name", "name": "name", "身份证号": "id_number", "身份证号码": "id_number",
             "id_number": "id_number", "身故日期": "date", "死亡日期": "date", "日期": "date", "date": "date",
             "备注": "note", "note": "note"},
    required=("id_number", "date"),
    names={"name": ("姓名", "name"), "id_number": ("身份证号", "id_number"), "date": ("身故日期", "date"),
           "note": ("备注", "note")},
    row_zh=("姓名", "身份证号", "身故日期", "备注"),
    row_en=("name", "id_number", "date", "note"),
)

_YES = frozenset({"是", "yes", "y", "true", "1", "√"})
_NO = frozenset({"否", "no", "n", "false", "0", "×"})

#: At most this many rows in one file (a district's list is a few thousand).
MAX_ROWS = 20_000
#: An XLSX file may unpack to at most this many bytes (a zip bomb is refused before parsing).
MAX_XLSX_UNPACKED = 64 * 1024 * 1024
#: Existing pseudonyms are looked up this many at a time.
_LOOKUP_CHUNK = 500

ADD, MATCH, ERROR = "add", "match", "error"

#: Cleans one cell's text for a column (``clean(text, column)``), or raises a ValueError
#: carrying ``zh`` and ``en`` (the web layer's input policy does).
Cleaner = Callable[[str, str], str]


@dataclass(frozen=True)
class Reason:
    """Why a row cannot be imported: a code, and the words in Chinese and English."""

    code: str
    zh: str
    en: str

    def message(self, language: str) -> str:
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class SheetRow:
    """One data row of the file: its number as the spreadsheet shows it and its cells by
    column (a string, or a number, a truth value or a date from an XLSX cell)."""

    row: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class RowOutcome:
    """What became (or would become) of one row.  ``status`` is :data:`ADD`, :data:`MATCH`
    or :data:`ERROR`; the name and the ID number appear masked only."""

    row: int
    status: str
    name_masked: str
    id_masked: str
    reasons: tuple[Reason, ...] = ()
    diner_id: str | None = None  # the diner registered (an import) or already registered (a match)
    same_community: bool = True  # a match: whether the diner belongs to the importing community


@dataclass(frozen=True)
class ImportReport:
    """The outcome of every row; ``imported`` says whether the rows to add were registered."""

    rows: tuple[RowOutcome, ...]
    imported: bool
    to_add: tuple[RowOutcome, ...] = field(init=False)
    matched: tuple[RowOutcome, ...] = field(init=False)
    errors: tuple[RowOutcome, ...] = field(init=False)

    def __post_init__(self) -> None:
        for name, status in (("to_add", ADD), ("matched", MATCH), ("errors", ERROR)):
            object.__setattr__(self, name, tuple(r for r in self.rows if r.status == status))


# -- reading the file ------------------------------------------------------------------------------

def _unreadable(zh: str, en: str) -> Refusal:
    return Refusal("import_file_unreadable", zh, en)


def read_rows(data: bytes, layout: Layout = REGISTRATION) -> list[SheetRow]:
    """The data rows of a CSV (UTF-8, with or without BOM) or XLSX file given as bytes,
    a list of the kind ``layout`` describes.

    Refuses (``import_file_unreadable``) a file that is neither, an old binary ``.xls``, a
    CSV that is not UTF-8, and (``import_bad_header``) a header row that does not name the
    needed columns, or names one twice or one it does not know; ``import_too_many_rows``
    past :data:`MAX_ROWS`; ``import_empty`` without a data row.  Empty rows are skipped
    (their numbers are not reused).
    """
    if not data:
        raise Refusal("import_empty", "文件是空的", "the file is empty")
    if data[:4] == b"PK\x03\x04":
        table = _xlsx_rows(data)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _unreadable("这是旧版 Excel（.xls）文件，请另存为 .xlsx 或“CSV UTF-8”后再上传",
                          "this is an old Excel (.xls) file; save it as .xlsx or as CSV UTF-8 and upload that")
    else:
        table = _csv_rows(data)
    header: list[str] | None = None
    out: list[SheetRow] = []
    for number, values in table:
        if all(_blank(v) for v in values):
            continue
        if header is None:
            header = _columns(values, layout)
            continue
        if len(out) >= MAX_ROWS:
            raise Refusal("import_too_many_rows", f"一次最多导入 {MAX_ROWS} 行，请分成几个文件",
                          f"at most {MAX_ROWS} rows can be imported at once; split the file")
        cells = {col: values[i] if i < len(values) else None for i, col in enumerate(header) if col}
        extra = [v for v in values[len(header):] if not _blank(v)]
        if extra:
            cells["_extra"] = True
        out.append(SheetRow(number, cells))
    if header is None or not out:
        raise Refusal("import_empty", "文件中没有要导入的行（第 1 行是表头，从第 2 行起每行一位就餐者）",
                      "the file has no rows to import (row 1 is the header, then one diner a row)")
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _columns(values: list[Any], layout: Layout) -> list[str]:
    columns: list[str] = []
    for value in values:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if not text:
            columns.append("")
            continue
        column = layout.headers.get(text) or layout.headers.get(text.lower())
        if column is None:
            raise Refusal("import_bad_header", f"表头中有不认识的列“{text[:20]}”；第 1 行应为："
                          f"{','.join(layout.row_zh)}",
                          f"the header names an unknown column {text[:20]!r}; row 1 should be: "
                          f"{','.join(layout.row_en)}")
        if column in columns:
            raise Refusal("import_bad_header", f"表头中“{layout.names[column][0]}”列出现了两次",
                          f"the header names the column {column} twice")
        columns.append(column)
    missing = [c for c in layout.required if c not in columns]
    if missing:
        raise Refusal("import_bad_header",
                      f"表头缺少“{'”“'.join(layout.names[c][0] for c in missing)}”列；第 1 行应为："
                      f"{','.join(layout.row_zh)}",
                      f"the header lacks the column(s) {', '.join(missing)}; row 1 should be: "
                      f"{','.join(layout.row_en)}")
    return columns


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable("文件不是 UTF-8 编码：请在 Excel 或 WPS 中“另存为”，选择“CSV UTF-8（逗号分隔）”或 .xlsx",
                          "the file is not UTF-8: save it as 'CSV UTF-8 (comma delimited)' or as .xlsx") from None
    if "\x00" in text:
        raise _unreadable("文件中含有空字符，不是文本格式的 CSV 文件", "the file holds NUL characters: it is not a CSV text file")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return ((i, row) for i, row in enumerate(rows, start=1))


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _unreadable("文件已损坏，无法作为 .xlsx 打开", "the file is damaged: it cannot be opened as .xlsx") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise _unreadable("文件解压后太大，请分成几个文件", "the file unpacks to too much data; split it")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever the reader objects to, the file cannot be used
        raise _unreadable("无法读取这个 .xlsx 文件，请用 Excel 或 WPS 重新保存后再试",
                          "this .xlsx file cannot be read; save it again with Excel or WPS and retry") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # read every row there is, whatever size the file claims
        out: list[tuple[int, list[Any]]] = []
        for row in sheet.iter_rows():
            cells = [c for c in row if getattr(c, "row", None) is not None]
            if not cells:
                continue
            values: list[Any] = [None] * max(c.column for c in cells)
            for c in cells:
                values[c.column - 1] = c.value
            out.append((cells[0].row, values))
            if len(out) > MAX_ROWS + 1:
                break
        return out
    except Exception:  # noqa: BLE001
        raise _unreadable("无法读取这个 .xlsx 文件，请用 Excel 或 WPS 重新保存后再试",
                          "this .xlsx file cannot be read; save it again with Excel or WPS and retry") from None
    finally:
        book.close()


# -- checking and registering ----------------------------------------------------------------------

def _text(value: Any) -> str:
    """A cell as text: a whole number without its ``.0``, a date as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _names_code(names: dict, text: str) -> str | None:
    """The code of a word list's entry named by ``text`` (its code, Chinese or English
    name, any case, spaces or underscores); None when none is."""
    wanted = text.strip().lower().replace(" ", "_")
    for code, name in names.items():
        if wanted in (code, name.zh, name.en.lower().replace(" ", "_")):
            return code
    return None


def _category(text: str) -> str | None:
    """A worker category's code from its code, Chinese or English name; None when unknown."""
    return _names_code(WORKER_CATEGORY_NAMES, text)


def _category_list() -> tuple[str, str]:
    return ("、".join(n.zh for n in WORKER_CATEGORY_NAMES.values()),
            ", ".join(f"{code} ({n.zh})" for code, n in WORKER_CATEGORY_NAMES.items()))


@dataclass
class _Checked:
    row: int
    name: str = ""
    id_number: str = ""
    id_masked: str = ""
    phone: str = ""
    category: str | None = None
    proof: str = ""
    proof_type: str | None = None
    resident: bool = False
    key: str | None = None
    reasons: list[Reason] = field(default_factory=list)


def _check_cells(sheet_row: SheetRow, *, today: date, clean: Cleaner | None) -> _Checked:
    """The row's cells as registration values, and what is wrong with them (not yet the
    checks :func:`register_diner` makes)."""
    out = _Checked(sheet_row.row)
    cells = sheet_row.cells

    def text(column: str) -> str:
        return _cell_text(cells, column, COLUMN_NAMES, clean, out.reasons)

    _no_extra_cells(cells, out.reasons)
    out.name = text("name")
    out.phone = text("phone")
    out.proof = text("proof")
    out.proof_type = _names_code(WORKER_PROOF_NAMES, out.proof) if out.proof else None
    if out.proof_type is not None:
        out.proof = ""  # the proof's kind, not a note
    category = text("category")
    if category:
        out.category = _category(category)
        if out.category is None:
            names_zh, names_en = _category_list()
            out.reasons.append(Reason("unknown_worker_category",
                                      f"类别“{category[:20]}”不认识：请留空或填 {names_zh}",
                                      f"unknown category {category[:20]!r}: leave it empty or use {names_en}"))
    resident = cells.get("resident")
    resident_text = text("resident").lower()
    if isinstance(resident, bool):
        out.resident = resident
    elif resident_text in _YES:
        out.resident = True
    elif resident_text in _NO:
        out.resident = False
    else:
        out.reasons.append(Reason("import_bad_resident",
                                  "“本社区居民”请填“是”或“否”" if not resident_text
                                  else f"“本社区居民”应为“是”或“否”，现在是“{resident_text[:10]}”",
                                  "resident must be yes or no" if not resident_text
                                  else f"resident must be yes or no, got {resident_text[:10]!r}"))
    out.id_number, out.id_masked = _id_number(cells.get("id_number"), today, out.reasons)
    return out


def _cell_text(cells: dict, column: str, names: dict[str, tuple[str, str]], clean: Cleaner | None,
               reasons: list[Reason]) -> str:
    """A cell's text under the input policy; "" (and a reason) when the policy refuses it."""
    value = _text(cells.get(column)).strip()
    if value and clean is not None:
        try:
            value = clean(value, column)
        except ValueError as e:
            zh, en = names[column]
            reasons.append(Reason("invalid_text", f"{zh}{getattr(e, 'zh', '内容有误')}",
                                  f"{en} {getattr(e, 'en', str(e))}"))
            return ""
    return value


def _no_extra_cells(cells: dict, reasons: list[Reason]) -> None:
    if cells.get("_extra"):
        reasons.append(Reason("import_extra_cells", "表头之外的列中有内容（没有列名的列）",
                              "there are values in columns the header does not name"))


def _id_number(raw: Any, today: date, reasons: list[Reason]) -> tuple[str, str]:
    """The ID number of a cell, normalised, and its masked form; ``("", masked)`` and a
    reason when the rules engine refuses it."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # A spreadsheet keeps 15 significant digits of a number: an 18-digit ID typed into a
        # number cell has already lost its last digits.
        reasons.append(Reason("import_id_not_text",
                              "身份证号单元格是数字格式，Excel 已改掉了后几位：请把这一列设为“文本”后重新填写",
                              "the ID number cell is a number, so the spreadsheet has changed its last digits: "
                              "format the column as text and type the numbers again"))
        return "", ""
    if "E+" in _text(raw).upper():
        # ... or a CSV saved from such a cell: 3.30205E+17.
        reasons.append(Reason("import_id_not_text",
                              "身份证号被存成了科学计数法（如 3.30205E+17），后几位已丢失：请把这一列设为“文本”后重新填写",
                              "the ID number was saved in scientific notation (like 3.30205E+17) and has lost its "
                              "last digits: format the column as text and type the numbers again"))
        return "", ""
    try:
        rid = parse_resident_id(_text(raw), today=today)
    except ResidentIdError as e:
        refusal = id_refusal(e)
        reasons.append(Reason(refusal.code, refusal.zh, refusal.en))
        return "", mask_resident_id(_text(raw))
    return rid.number, rid.masked


def _pseudonyms(checked: list, id_key: bytes) -> None:
    """Each row's pseudonym (``key``); a row repeating an earlier row's number gets a reason."""
    first_row: dict[str, int] = {}
    for c in checked:
        if c.id_number:
            c.key = pseudonym(id_key, c.id_number)
            if c.key in first_row:
                c.reasons.append(Reason("import_duplicate", f"身份证号与第 {first_row[c.key]} 行重复",
                                        f"the same ID number as row {first_row[c.key]}"))
            else:
                first_row[c.key] = c.row


def import_diners(*, session: Session, rows: Iterable[SheetRow], id_key: bytes, actor, community: str, today: date,
                  write: bool, canteen_id: str | None = None, address: str = "",
                  clean: Cleaner | None = None) -> ImportReport:
    """Check every row and, when ``write`` and no row is bad, register the rows not yet
    registered, in the caller's transaction, with an audit entry for each diner and one
    for the import.  Otherwise nothing is written: the registrations are made (and
    refused) exactly as an import makes them, then dropped unsent, so a check run reports
    what an import would do and needs no write transaction.

    ``actor`` is the member of staff registering (``id``, ``username``); ``community`` the
    diners' community; ``clean`` the input policy for a cell's text.
    """
    checked = [_check_cells(r, today=today, clean=clean) for r in rows]
    _pseudonyms(checked, id_key)
    existing = {key: (row.id, row.community)
                for key, row in _registered(session, [c.key for c in checked if c.key and not c.reasons]).items()}

    outcomes: list[RowOutcome] = []
    added: list[Diner] = []
    savepoint = session.begin_nested()
    try:
        # The registrations wait in the session and go to the database together, in a few
        # statements, only when every row is good.
        with session.no_autoflush:
            for c in checked:
                shown = dict(row=c.row, name_masked=mask_name(c.name), id_masked=c.id_masked)
                if c.reasons:
                    outcomes.append(RowOutcome(status=ERROR, reasons=tuple(c.reasons), **shown))
                    continue
                if c.key in existing:
                    diner_id, diner_community = existing[c.key]
                    outcomes.append(RowOutcome(status=MATCH, diner_id=diner_id,
                                               same_community=diner_community == community, **shown))
                    continue
                try:
                    diner = register_diner(session=session, id_key=id_key, staff_id=actor.id, community=community,
                                           name=c.name, id_number=c.id_number, resident=c.resident, today=today,
                                           worker_category=c.category, worker_proof=c.proof,
                                           worker_proof_type=c.proof_type, phone=c.phone or None, flush=False)
                except Refusal as e:
                    outcomes.append(RowOutcome(status=ERROR, reasons=(Reason(e.code, e.zh, e.en),), **shown))
                    continue
                added.append(diner)
                outcomes.append(RowOutcome(status=ADD, diner_id=diner.id, **shown))
        keep = write and not any(o.status == ERROR for o in outcomes)
        if keep:
            session.flush()
            audit_each(tx=session, action="diner_registered", actor=actor, canteen_id=canteen_id, address=address,
                       entries=[(d.id, {"worker_category": d.worker_category,
                                        "resident": d.resident, "imported": True}) for d in added])
            audit(tx=session, action="diners_imported", actor=actor, canteen_id=canteen_id, address=address,
                  detail={"community": community, "added": len(added),
                          "matched": sum(o.status == MATCH for o in outcomes), "rows": len(outcomes)})
            savepoint.commit()
        else:
            savepoint.rollback()  # the waiting registrations are dropped unsent
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if not keep:  # nobody was registered: no diner ids to show
        outcomes = [o if o.status != ADD else RowOutcome(o.row, ADD, o.name_masked, o.id_masked) for o in outcomes]
    return ImportReport(rows=tuple(outcomes), imported=keep)


def _registered(session: Session, keys: list[str]) -> dict[str, Any]:
    """Diners already registered under these pseudonyms: key → (id, community, name,
    left_kind, left_on)."""
    found: dict[str, Any] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        for row in session.exec(select(Diner.id, Diner.id_hmac, Diner.community, Diner.name, Diner.left_kind,
                                       Diner.left_on).where(Diner.id_hmac.in_(chunk))):
            found[row.id_hmac] = row
    return found


# -- a list of the deceased ------------------------------------------------------------------------

@dataclass
class _Death:
    row: int
    name: str = ""
    id_number: str = ""
    id_masked: str = ""
    on: date | None = None
    note: str = ""
    key: str | None = None
    reasons: list[Reason] = field(default_factory=list)


def _day(value: Any, reasons: list[Reason]) -> date | None:
    """A date cell: a spreadsheet date, or text 2026-03-10, 2026/3/10 or 2026.3.10."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).strip()
    try:
        y, m, d = (int(part) for part in text.replace("/", "-").replace(".", "-").split("-"))
        return date(y, m, d)
    except ValueError:
        reasons.append(Reason("import_bad_date",
                              f"身故日期应为 YYYY-MM-DD，现在是“{text[:12]}”" if text else "请填写身故日期（YYYY-MM-DD）",
                              f"date must be YYYY-MM-DD, got {text[:12]!r}" if text else "date is required (YYYY-MM-DD)"))
        return None


def mark_deceased(*, session: Session, rows: Iterable[SheetRow], id_key: bytes, actor, community: str | None,
                  today: date, write: bool, canteen_id: str | None = None, address: str = "",
                  clean: Cleaner | None = None) -> ImportReport:
    """Record the deaths on a list (rows of :data:`DECEASED`) like
    :func:`pos.store.diners.record_life_event` records one: no benefit from the date, past
    grants untouched.  All or nothing, in the caller's transaction, as
    :func:`import_diners`: when ``write`` and no row is bad they are kept, with an audit
    entry each and one for the list; otherwise rolled back.

    A row must name a diner registered in ``community`` (None: any) by ID number; a name,
    when given, must be the registered one (a wrong number on the list is caught before
    it stops someone's meals).  A diner already recorded as deceased or moved away is a
    match, left as they are.  ``ADD`` in the report means "to be marked".
    """
    checked: list[_Death] = []
    for r in rows:
        c = _Death(r.row)
        _no_extra_cells(r.cells, c.reasons)
        c.name = _cell_text(r.cells, "name", DECEASED.names, clean, c.reasons)
        c.note = _cell_text(r.cells, "note", DECEASED.names, clean, c.reasons)
        c.on = _day(r.cells.get("date"), c.reasons)
        c.id_number, c.id_masked = _id_number(r.cells.get("id_number"), today, c.reasons)
        checked.append(c)
    _pseudonyms(checked, id_key)
    found = _registered(session, [c.key for c in checked if c.key and not c.reasons])

    outcomes: list[RowOutcome] = []
    marked: list[tuple[str, date]] = []
    savepoint = session.begin_nested()
    try:
        for c in checked:
            diner = found.get(c.key) if not c.reasons else None
            shown = dict(row=c.row, name_masked=mask_name(c.name or (diner.name if diner else "")),
                         id_masked=c.id_masked)
            if not c.reasons and (diner is None or (community is not None and diner.community != community)):
                c.reasons.append(Reason("import_not_registered", "没有登记这个身份证号的就餐者",
                                        "no diner is registered with this ID number"))
            elif not c.reasons and c.name and unicodedata.normalize("NFC", c.name) != diner.name:
                c.reasons.append(Reason("import_name_differs",
                                        f"姓名与登记的不一致（登记为 {mask_name(diner.name)}）",
                                        f"the name differs from the registered one ({mask_name(diner.name)})"))
            if c.reasons:
                outcomes.append(RowOutcome(status=ERROR, reasons=tuple(c.reasons), **shown))
                continue
            if diner.left_kind is not None:
                outcomes.append(RowOutcome(status=MATCH, diner_id=diner.id, same_community=True, **shown))
                continue
            try:
                record_life_event(session=session, diner_id=diner.id, staff_id=actor.id, community=community,
                                  kind="deceased", on=c.on, note=c.note, today=today)
            except Refusal as e:
                outcomes.append(RowOutcome(status=ERROR, reasons=(Reason(e.code, e.zh, e.en),), **shown))
                continue
            marked.append((diner.id, c.on))
            outcomes.append(RowOutcome(status=ADD, diner_id=diner.id, **shown))
        keep = write and not any(o.status == ERROR for o in outcomes)
        if keep:
            audit_each(tx=session, action="diner_left", actor=actor, canteen_id=canteen_id, address=address,
                       entries=[(diner_id, {"life_event": "deceased", "event_date": on.isoformat(), "imported": True})
                                for diner_id, on in marked])
            audit(tx=session, action="diners_marked_deceased", actor=actor, canteen_id=canteen_id, address=address,
                  detail={"community": community, "marked": len(marked),
                          "matched": sum(o.status == MATCH for o in outcomes), "rows": len(outcomes)})
            savepoint.commit()
        else:
            savepoint.rollback()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    return ImportReport(rows=tuple(outcomes), imported=keep)


def refusal_for(report: ImportReport) -> Refusal:
    """The refusal an import with bad rows answers (the report names each row)."""
    n = len(report.errors)
    return Refusal("import_has_errors", f"有 {n} 行有错误，没有导入任何一行；请改正后重新上传",
                   f"{n} row(s) have errors; nothing was imported — correct them and upload the file again")
