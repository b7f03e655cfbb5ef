"""Back-office pages for lists a community already keeps: registering many diners at once
from a CSV or XLSX file, and marking the deceased on a civil-affairs list.

The registrar uploads the file and checks it first: a report of the rows to add (or mark),
the rows already done (found by the keyed pseudonym of their ID number) and the rows with
errors, each with its row number and reason.  To import, they upload the same file again
with "import": the server reads and checks it again and takes every row or none.  The file
is read in memory and dropped with the request (uploads are never spooled to disk, see
pos/web/uploads.py), so no ID number is kept between the two steps — not in a hidden
field, a session or a temporary file.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from pos.refusal import Refusal
from pos.store import diner_import
from pos.web.backoffice.common import bp, client_address, diner_scope, done, message, settings, today
from pos.web.backoffice.registry_pages import _communities
from pos.web.input_policy import LINE, NAME, clean
from pos.web.refusals import status_of
from pos.web.signin import db
from subsidies.vocabulary import WORKER_CATEGORY_NAMES


def clean_cell(text: str, column: str) -> str:
    """A cell's text under the input policy: a name like a typed name, the rest as one line."""
    return clean(text, NAME if column == "name" else LINE)


@bp.route("/diners/import", methods=["GET", "POST"])
def diner_import_page():
    """The upload form; posted with ``action=check`` it answers the report, with
    ``action=import`` it registers every row (or, with a bad row, none and the report)."""
    return _list_page("register")


@bp.route("/diners/import/deceased", methods=["GET", "POST"])
def deceased_import_page():
    """The same for a list of the deceased: each named diner's benefits stop from the date."""
    return _list_page("deceased")


def _list_page(kind: str):
    layout = diner_import.REGISTRATION if kind == "register" else diner_import.DECEASED
    district = diner_scope() is None
    communities = _communities()
    community = diner_scope() or settings().default_canteen.community
    report, error, action = None, None, request.form.get("action")
    if request.method == "POST":
        if district and request.form.get("community") in communities:
            community = request.form["community"]
        upload = request.files.get("file")
        data = upload.read() if upload is not None else b""
        try:
            if action not in ("check", "import"):
                raise Refusal("invalid_request", "请选择“检查”或“导入”", "action must be check or import")
            if not data:
                raise Refusal("import_empty", "请选择要上传的文件（CSV 或 XLSX）", "choose a file to upload (CSV or XLSX)")
            rows = diner_import.read_rows(data, layout)
            args = dict(rows=rows, id_key=settings().id_key, actor=current_user, community=community, today=today(),
                        write=action == "import", canteen_id=current_user.canteen_id, address=client_address(),
                        clean=clean_cell)
            if kind == "register":
                # A check writes nothing, so it takes no write transaction (the tills keep selling).
                with (db().transaction() if action == "import" else db().session()) as s:
                    report = diner_import.import_diners(session=s, **args)
            else:
                with db().transaction() as s:
                    report = diner_import.mark_deceased(session=s, **args)
        except Refusal as e:
            error = e
        except IntegrityError:  # someone registered one of the numbers while the import ran
            error = Refusal("already_registered", "导入期间有人登记了其中的身份证号，没有导入任何一行；请重新检查",
                            "one of the ID numbers was registered while the import ran; nothing was imported — "
                            "check the file again")
        finally:
            del data
        if report is not None and report.imported:
            if kind == "register":
                done("已导入 {added} 位就餐者；{matched} 行已登记，未作改动", added=len(report.to_add),
                     matched=len(report.matched))
            else:
                done("已将 {added} 位就餐者登记为身故；{matched} 位此前已登记，未作改动", added=len(report.to_add),
                     matched=len(report.matched))
            return redirect(url_for("backoffice.diners"), 303)
        if report is not None and action == "import":
            error = diner_import.refusal_for(report)
    status = status_of(error.code) if error else 200
    return render_template("backoffice/diner_import.html", kind=kind, report=report, action=action, error=error,
                           error_message=message(error) if error else "", community=community,
                           communities=communities, district=district, categories=WORKER_CATEGORY_NAMES,
                           header_zh=layout.row_zh, header_en=layout.row_en, max_rows=diner_import.MAX_ROWS), status
