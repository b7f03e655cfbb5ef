"""Back-office pages for the diner registry and their vouchers."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pos.models import Voucher
from pos.store import diners as dstore
from pos.store import tokens
from pos.store import vouchers as vstore
from pos.refusal import Refusal
from pos.web import printing
from pos.web.backoffice.common import audit_here, bp, diner_scope, done, form_text, message, settings, today
from pos.web.refusals import status_of
from pos.web.signin import db
from subsidies.bands import band, benefit
from subsidies.vocabulary import RESIDENCY_PROOF_NAMES, WORKER_CATEGORY_NAMES, WORKER_PROOF_NAMES

FIELD_NAMES = {"name": "姓名", "id_number": "身份证号", "birth_date": "出生日期", "resident": "本社区居民",
               "worker_category": "户外劳动者类别", "worker_proof": "核验凭证", "phone": "电话",
               "community": "所属社区", "suspended": "停用", "worker_proof_type": "证明类型",
               "worker_verified_on": "核验日期", "residency_proof_type": "居住证明类型",
               "residency_verified_on": "居住证明核验日期", "left": "身故或迁出"}


def _communities() -> list[str]:
    seen = []
    for c in settings().canteens:
        if c.community not in seen:
            seen.append(c.community)
    return seen


def _form_values() -> dict:
    f = request.form
    values = {"name": form_text("name"), "resident": f.get("resident") == "on",
              "worker_category": f.get("worker_category") or None, "worker_proof": form_text("worker_proof"),
              "phone": form_text("phone"), "worker_proof_type": form_text("worker_proof_type") or None,
              "worker_verified_on": form_text("worker_verified_on") or None,
              "residency_proof_type": form_text("residency_proof_type") or None,
              "residency_verified_on": form_text("residency_verified_on") or None}
    if diner_scope() is None and f.get("community"):
        values["community"] = form_text("community")
    return values


@bp.route("/diners", methods=["GET", "POST"])
def diners():
    """List and search: a name, a masked ID or its first/last four, a voucher code, or a
    full ID number (posted, so it never lands in a URL or an access log)."""
    query = (request.form.get("q") if request.method == "POST" else request.args.get("q")) or ""
    if request.method == "GET" and dstore.looks_like_id_number(query):
        # Typed into the address bar or followed from an old link: not searched, not echoed,
        # and the address the browser is sent on holds no number.
        done("为保护个人信息，身份证号请在搜索框中输入后点“搜索”，不要放在网址里")
        return redirect(url_for("backoffice.diners"), 303)
    with db().session() as s:
        rows = dstore.search(session=s, community=diner_scope(), query=query, id_key=settings().id_key)
        active = {v.diner_id: v for v in s.exec(
            select(Voucher).where(Voucher.status == "active",
                                         Voucher.diner_id.in_([d.id for d in rows] or [""])))}
    day = today()
    policy = settings().policy.in_force_or_none(day)
    bands = {d.id: band(policy, today=day, birth_date=d.birth_date, worker_category=d.worker_category,
                        worker_verified=d.worker_verified_by is not None, resident=d.resident) for d in rows}
    # A full ID number typed into the search box is echoed back into the page masked.
    return render_template("backoffice/diners.html", diners=rows, active=active, bands=bands,
                           q=dstore.shown_query(query),
                           searched=bool(query.strip()), qr=printing.qr_address(settings(), "v"))


@bp.route("/diners/new", methods=["GET", "POST"])
def diner_new():
    error = None
    values = {"resident": True}
    if request.method == "POST":
        values = _form_values()
        community = values.pop("community", None) or diner_scope() or settings().default_canteen.community
        try:
            with db().transaction() as s:
                diner = dstore.register_diner(
                    session=s, id_key=settings().id_key, staff_id=current_user.id, community=community,
                    name=values["name"], id_number=request.form.get("id_number", ""), resident=values["resident"],
                    today=today(), worker_category=values["worker_category"], worker_proof=values["worker_proof"],
                    phone=values["phone"], worker_proof_type=values["worker_proof_type"],
                    worker_verified_on=values["worker_verified_on"], residency_proof_type=values["residency_proof_type"],
                    residency_verified_on=values["residency_verified_on"])
                audit_here(s, "diner_registered", target=diner.id,
                           detail={"worker_category": diner.worker_category,
                                   "resident": diner.resident})
                issued = None
                if request.form.get("issue_voucher") == "on":
                    issued = vstore.issue_voucher(session=s, settings=settings(), diner_id=diner.id,
                                                  staff_id=current_user.id, today=today())
                    audit_here(s, "voucher_issued", target=issued.voucher.id,
                               detail={"diner_id": diner.id, "version": issued.voucher.version})
        except Refusal as e:
            error = e
        except IntegrityError:
            error = Refusal("already_registered", "该身份证号已登记", "a diner with this resident ID is already registered")
        else:
            done("已登记就餐者 {name}", name=dstore.mask_name(diner.name))
            if issued:
                done("已发放餐券，短码 {code}", code=tokens.display_code(issued.code))
            return redirect(url_for("backoffice.diner", diner_id=diner.id))
    return render_template("backoffice/diner_form.html", diner=None, values=values, error=error,
                           error_message=message(error) if error else "", categories=WORKER_CATEGORY_NAMES,
                           worker_proofs=WORKER_PROOF_NAMES, residency_proofs=RESIDENCY_PROOF_NAMES,
                           communities=_communities(), district=diner_scope() is None), (status_of(error.code) if error else 200)


@bp.route("/diners/<diner_id>")
def diner(diner_id: str):
    with db().session() as s:
        row = dstore.get_diner(session=s, diner_id=diner_id, community=diner_scope())
        vouchers = vstore.vouchers_of(session=s, diner_id=row.id)
        changes = dstore.history(session=s, diner_id=row.id)
    day = today()
    policy = settings().policy.in_force_or_none(day)
    active = next((v for v in vouchers if v.status == "active"), None)
    link = vstore.issued(settings(), active).url if active else None
    return render_template("backoffice/diner.html", d=row, vouchers=vouchers, changes=changes, active=active,
                           voucher_link=link,
                           benefit=benefit(policy, today=day, birth_date=row.birth_date, resident=row.resident,
                                           worker_category=row.worker_category,
                                           worker_verified=row.worker_verified_by is not None),
                           band=band(policy, today=day, birth_date=row.birth_date,
                                     worker_category=row.worker_category,
                                     worker_verified=row.worker_verified_by is not None, resident=row.resident),
                           field_names=FIELD_NAMES, display_code=tokens.display_code, mask_name=dstore.mask_name,
                           today=day, qr=printing.qr_address(settings(), "v"))


@bp.route("/diners/<diner_id>/edit", methods=["GET", "POST"])
def diner_edit(diner_id: str):
    error = None
    with db().session() as s:
        row = dstore.get_diner(session=s, diner_id=diner_id, community=diner_scope())
    values = {"name": row.name, "resident": row.resident, "worker_category": row.worker_category,
              "worker_proof": row.worker_proof, "phone": row.phone or "", "community": row.community,
              "worker_proof_type": row.worker_proof_type, "residency_proof_type": row.residency_proof_type,
              "worker_verified_on": row.worker_verified_on.isoformat() if row.worker_verified_on else "",
              "residency_verified_on": row.residency_verified_on.isoformat() if row.residency_verified_on else ""}
    if request.method == "POST":
        values = _form_values()
        changes = dict(values)
        if form_text("id_number"):
            changes["id_number"] = request.form.get("id_number", "")
        try:
            with db().transaction() as s:
                changed = dstore.edit_diner(session=s, id_key=settings().id_key, diner_id=diner_id,
                                            staff_id=current_user.id, community=diner_scope(), today=today(),
                                            changes=changes)
                if changed:
                    audit_here(s, "diner_edited", target=diner_id, detail={"fields": changed})
        except Refusal as e:
            error = e
        except IntegrityError:
            error = Refusal("already_registered", "该身份证号已登记", "a diner with this resident ID is already registered")
        else:
            done("已保存修改" if changed else "没有需要保存的修改")
            return redirect(url_for("backoffice.diner", diner_id=diner_id))
    return render_template("backoffice/diner_form.html", diner=row, values=values, error=error,
                           error_message=message(error) if error else "", categories=WORKER_CATEGORY_NAMES,
                           worker_proofs=WORKER_PROOF_NAMES, residency_proofs=RESIDENCY_PROOF_NAMES,
                           communities=_communities(), district=diner_scope() is None), (status_of(error.code) if error else 200)


@bp.route("/diners/<diner_id>/suspend", methods=["POST"])
def diner_suspend(diner_id: str):
    action = request.form.get("action")
    if action not in ("suspend", "reinstate"):
        abort(400, "action must be suspend or reinstate")
    with db().transaction() as s:
        dstore.set_suspended(session=s, diner_id=diner_id, staff_id=current_user.id, community=diner_scope(),
                             suspended=action == "suspend", reason=form_text("reason"))
        audit_here(s, "diner_suspended" if action == "suspend" else "diner_reinstated", target=diner_id)
    done("已停用该就餐者" if action == "suspend" else "已恢复该就餐者")
    return redirect(url_for("backoffice.diner", diner_id=diner_id))


@bp.route("/diners/<diner_id>/vouchers", methods=["POST"])
def voucher_issue(diner_id: str):
    with db().transaction() as s:
        dstore.get_diner(session=s, diner_id=diner_id, community=diner_scope())
        issued = vstore.issue_voucher(session=s, settings=settings(), diner_id=diner_id, staff_id=current_user.id,
                                      today=today())
        audit_here(s, "voucher_issued", target=issued.voucher.id,
                   detail={"diner_id": diner_id, "version": issued.voucher.version})
    done("已发放新餐券，短码 {code}；旧餐券已失效", code=tokens.display_code(issued.code))
    return redirect(url_for("backoffice.diner", diner_id=diner_id))


@bp.route("/vouchers/<voucher_id>/revoke", methods=["POST"])
def voucher_revoke(voucher_id: str):
    with db().transaction() as s:
        voucher = s.get(Voucher, voucher_id)
        if voucher is None:
            raise Refusal("voucher_not_found", "没有这张餐券", "no such voucher")
        dstore.get_diner(session=s, diner_id=voucher.diner_id, community=diner_scope())
        vstore.revoke_voucher(session=s, voucher_id=voucher_id)
        audit_here(s, "voucher_revoked", target=voucher_id, detail={"diner_id": voucher.diner_id})
    done("餐券已作废")
    return redirect(url_for("backoffice.diner", diner_id=voucher.diner_id))
