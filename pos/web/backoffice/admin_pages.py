"""Admin pages: the menu (prices typed in yuan, stored in fen) and staff accounts."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from pos.access import ROLE_NAMES, ROLES
from pos.store import menu as mstore
from pos.store import staff as sstore
from pos.refusal import Refusal
from pos.web.backoffice.common import (audit_here, bp, canteen_named, chosen_canteen, done, form_text, form_yuan,
                                       message, settings, visible_canteens)
from pos.web.backoffice.dish_label_pages import label_values
from pos.web.refusals import status_of
from pos.web.signin import db


def _item_values() -> dict:
    sort_text = form_text("sort_order", "0")
    try:
        sort_order = int(sort_text)
    except ValueError:
        raise Refusal("invalid_sort_order", "排序须为整数", "sort_order must be a whole number") from None
    return {"name": form_text("name"), "name_en": form_text("name_en"), "category": form_text("category"),
            "price_fen": form_yuan("price", "价格", "price"), "welfare_meal": request.form.get("welfare_meal") == "on",
            "available": request.form.get("available") == "on", "sort_order": sort_order,
            **label_values()}


@bp.route("/menu", methods=["GET", "POST"])
def menu():
    canteen = chosen_canteen()
    error = None
    if request.method == "POST":
        try:
            values = _item_values()
            with db().transaction() as s:
                item = mstore.create_item(session=s, canteen_id=canteen.code, **values)
                audit_here(s, "menu_item_created", target=item.id, canteen_id=canteen.code,
                           detail={"price_fen": item.price_fen, "welfare_meal": item.welfare_meal})
        except Refusal as e:
            error = e
        else:
            done("已添加菜品 {name}", name=item.name)
            return redirect(url_for("backoffice.menu", canteen=canteen.code))
    with db().session() as s:
        rows = mstore.items(session=s, canteen_id=canteen.code)
    return render_template("backoffice/menu.html", canteen=canteen, canteens=visible_canteens(), items=rows,
                           error=error, error_message=message(error) if error else "",
                           form=request.form if error else {}), (status_of(error.code) if error else 200)


@bp.route("/menu/<item_id>", methods=["GET", "POST"])
def menu_item(item_id: str):
    error = None
    with db().session() as s:
        item = mstore.get_item(session=s, item_id=item_id)
    canteen_named(item.canteen_id)
    if request.method == "POST":
        try:
            values = _item_values()
            with db().transaction() as s:
                item, changed = mstore.update_item(session=s, item_id=item_id, changes=values)
                if changed:
                    audit_here(s, "menu_item_updated", target=item.id, canteen_id=item.canteen_id,
                               detail={"fields": sorted(changed),
                                       **({"price_fen": changed["price_fen"]} if "price_fen" in changed else {})})
        except Refusal as e:
            error = e
        else:
            done("已保存 {name}；已售出的订单不受影响", name=item.name)
            return redirect(url_for("backoffice.menu", canteen=item.canteen_id))
    return render_template("backoffice/menu_item.html", item=item, error=error,
                           error_message=message(error) if error else ""), (status_of(error.code) if error else 200)


@bp.route("/staff", methods=["GET", "POST"])
def staff():
    error = None
    if request.method == "POST":
        canteen_id = request.form.get("canteen") or None
        try:
            with db().transaction() as s:
                user = sstore.create_user(session=s, username=form_text("username"),
                                          password=request.form.get("password", ""), role=request.form.get("role", ""),
                                          display_name=form_text("display_name"), canteen_id=canteen_id,
                                          community=None if canteen_id else (form_text("community") or None),
                                          pin=form_text("pin") or None)
                audit_here(s, "staff_created", target=user.id, detail={"role": user.role, "canteen": canteen_id})
        except Refusal as e:
            error = e
        else:
            done("已创建账号 {username}", username=user.username)
            return redirect(url_for("backoffice.staff"))
    with db().session() as s:
        users = sstore.all_users(session=s)
    return render_template("backoffice/staff.html", users=users, roles=ROLES, role_names=ROLE_NAMES, canteens=settings().canteens,
                           communities=sorted({c.community for c in settings().canteens}),
                           error=error, error_message=message(error) if error else "",
                           form=request.form if error else {}), (status_of(error.code) if error else 200)


@bp.route("/staff/<user_id>/password", methods=["POST"])
def staff_password(user_id: str):
    # The form's box is ticked by default: whoever gets a password an admin typed chooses
    # their own at the next sign-in.
    must_change = request.form.get("must_change") == "on"
    with db().transaction() as s:
        user = sstore.reset_password(session=s, user_id=user_id, password=request.form.get("password", ""),
                                     must_change=must_change)
        audit_here(s, "staff_password_reset", target=user.id, detail={"must_change_password": must_change})
    done("已重置 {username} 的密码", username=user.username)
    return redirect(url_for("backoffice.staff"))


@bp.route("/staff/<user_id>/must-change", methods=["POST"])
def staff_must_change(user_id: str):
    """Require (or stop requiring) a new password at the user's next sign-in; their open
    sessions reach nothing but the change-password page meanwhile."""
    required = request.form.get("required") == "1"
    with db().transaction() as s:
        user = sstore.require_password_change(session=s, user_id=user_id, required=required)
        audit_here(s, "staff_password_change_required", target=user.id, detail={"must_change_password": required})
    done("{username} 下次登录时须设置新密码" if required else "已取消 {username} 的修改密码要求",
         username=user.username)
    return redirect(url_for("backoffice.staff"))


@bp.route("/staff/<user_id>/active", methods=["POST"])
def staff_active(user_id: str):
    active = request.form.get("active") == "1"
    if user_id == current_user.id and not active:
        raise Refusal("cannot_disable_self", "不能停用自己的账号", "you cannot disable your own account")
    with db().transaction() as s:
        user = sstore.set_active(session=s, user_id=user_id, active=active)
        audit_here(s, "staff_enabled" if active else "staff_disabled", target=user.id)
    done("已启用 {username}" if active else "已停用 {username}", username=user.username)
    return redirect(url_for("backoffice.staff"))
