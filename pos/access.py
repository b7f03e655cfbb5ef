"""Who may use which route: one table, read by a before-request hook.

Every endpoint of the app is declared here with the roles that may call it.  A route
missing from the table refuses everyone (403), so a new route is closed until someone
decides who may use it.  tests/security/test_route_table.py walks every registered route with every
role and anonymously and checks the answer against this table.

Canteen scope (a cashier of one canteen cannot sell for another; an accountant sees only
their community) is the other half of "who may": :class:`Scope`, the one place it is
decided, which the views apply to what a request names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

from pos.refusal import Refusal

PUBLIC = frozenset({"anonymous"})
#: The staff roles, with the names people call them (the English is in the catalogues).
ROLE_NAMES = {"cashier": "收银员", "supervisor": "值班主管", "accountant": "会计", "registrar": "社区登记员",
              "admin": "管理员", "approver": "社区审核人", "platform": "平台接口"}
ROLES = tuple(ROLE_NAMES)
STAFF = frozenset(ROLES)
TILL = frozenset({"cashier", "supervisor", "admin"})
SUPERVISE = frozenset({"supervisor", "admin"})  # approve voids, close shifts and days
REGISTRY = frozenset({"registrar", "admin"})
ACCOUNTS = frozenset({"accountant", "supervisor", "admin"})
ACCOUNTANT = frozenset({"accountant", "admin"})
ADMIN = frozenset({"admin"})
TICKETS = frozenset({"registrar", "supervisor", "admin"})  # print daily free-meal tickets
CLAIMS = frozenset({"accountant", "approver", "admin"})  # see claims and their documents
APPROVE = frozenset({"approver", "admin"})  # approve or return a claim (never one's own)
PLATFORM = frozenset({"platform", "accountant", "approver", "admin"})  # read claims as data
NOTICES = frozenset({"supervisor", "registrar", "admin"})  # post notices on the public page and riders' corner
# Follow up neighbourhood reports (议事厅): the community's staff at the canteen, who see the
# reporter's phone and pass a report on to whoever can fix the problem.
COMMUNITY_DESK = frozenset({"registrar", "supervisor", "admin"})

ROUTE_ROLES: dict[str, frozenset[str]] = {
    # --- foundation -------------------------------------------------------------
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "home.index": PUBLIC,  # redirects to the sign-in page or the user's start page
    "home.favicon": PUBLIC,  # /favicon.ico, which browsers ask for on their own
    "auth.login": PUBLIC,
    "auth.logout": STAFF,
    "auth.set_language": PUBLIC,
    "api_doc": PUBLIC,  # /api/v1/openapi.json
    "api.auth_token": PUBLIC,
    "api.auth_token_revoke": STAFF,
    # --- one's own account: password (everyone), void-approval PIN (supervisors) -----
    "account.password": STAFF,
    "account.pin": SUPERVISE,
    "api.auth_password": STAFF,
    # --- back office and vouchers (issue: back office) ----------------------------
    "backoffice.index": STAFF,  # the policy in force and today's free meals left
    "backoffice.diners": REGISTRY,
    "backoffice.diner_new": REGISTRY,
    "backoffice.diner": REGISTRY,
    "backoffice.diner_edit": REGISTRY,
    "backoffice.diner_suspend": REGISTRY,
    "backoffice.diner_import_page": REGISTRY,  # bulk import from a CSV/XLSX list: check, then import
    "backoffice.deceased_import_page": REGISTRY,  # a list of the deceased, the same way
    "backoffice.diner_life_event": REGISTRY,  # deceased or moved away: benefits stop from its date
    "backoffice.diners_expiring": REGISTRY,  # verifications expired or expiring within 30 days
    "backoffice.diners_expiring_csv": REGISTRY,
    "backoffice.diner_export_json": REGISTRY,  # a diner's rights: everything held about them (audited)
    "backoffice.diner_export_pdf": REGISTRY,
    "backoffice.diner_erase": REGISTRY,  # erasure with a reason (audited)
    "backoffice.voucher_issue": REGISTRY,
    "backoffice.voucher_revoke": REGISTRY,
    "backoffice.voucher_cards": REGISTRY,
    "backoffice.tickets": TICKETS,
    "backoffice.ticket_sheet": TICKETS,
    "backoffice.menu": ADMIN,
    "backoffice.menu_item": ADMIN,
    "backoffice.menu_labels": SUPERVISE,  # the cook's boss on shift sets labels and energy (scoped)
    "backoffice.menu_labels_save": SUPERVISE,
    "backoffice.notices": NOTICES,  # scoped: a supervisor or registrar posts for their canteen
    "backoffice.notice_new": NOTICES,
    "backoffice.notice_edit": NOTICES,
    "backoffice.notice_withdraw": NOTICES,
    "backoffice.staff": ADMIN,
    "backoffice.staff_password": ADMIN,
    "backoffice.staff_active": ADMIN,
    "backoffice.staff_must_change": ADMIN,  # a new password at the next sign-in
    "backoffice.audit_log": ACCOUNTANT,  # scoped: accountants their community, admins all
    "vouchers.voucher_page": PUBLIC,  # the diner's own page: /v/<token>
    "vouchers.ticket_page": PUBLIC,  # /t/<token>
    # --- neighbourhood reports: anyone files and follows; staff follow up (scoped) ---------
    "neighbourhood.new": PUBLIC,  # the form; held to [public] reports_per_hour per address and device
    "neighbourhood.lookup": PUBLIC,  # look a number up
    "neighbourhood.follow": PUBLIC,  # /neighbourhood/<number>: status and notes, no phone, no staff name
    "backoffice.neighbourhood_queue": COMMUNITY_DESK,
    "backoffice.neighbourhood_report": COMMUNITY_DESK,
    "backoffice.neighbourhood_photo": COMMUNITY_DESK,
    "backoffice.neighbourhood_update": COMMUNITY_DESK,
    # --- the public screen by the door (no sign-in; names no one) --------------------
    "public.today_index": PUBLIC,
    "public.today": PUBLIC,
    "public.live": PUBLIC,  # the free meals left, polled by the page
    "api.diners_create": REGISTRY,
    "api.diner_vouchers_issue": REGISTRY,
    "api.diner_life_event": REGISTRY,
    "api.diner_verification": REGISTRY,  # a renewed proof of work or residency, seen by this registrar
    "api.diners_expiring": REGISTRY,
    "api.voucher_revoke": REGISTRY,
    "api.diner_export": REGISTRY,
    "api.diner_export_pdf": REGISTRY,
    "api.diner_erase": REGISTRY,
    "api.voucher_cards_pdf": REGISTRY,
    "api.tickets_create": TICKETS,
    "api.tickets_sheet_pdf": TICKETS,
    "api.menu_items_list": STAFF,  # the menu as data, as the public page shows it (scoped)
    "api.menu_item_get": STAFF,
    "api.menu_item_create": ADMIN,
    "api.menu_item_update": ADMIN,
    # --- till (issue: till) -------------------------------------------------------
    "till.index": TILL,  # the cashier's start page
    "till.receipt": TILL,
    "till.display": TILL,  # the diner-facing screen: a second window of the till's browser
    # The till's service worker script: file names and a hash, no data; the browser fetches
    # it again by itself to find a new release, whoever is signed in or not.
    "till.service_worker": PUBLIC,
    "api.till_menu": TILL,
    "api.till_credentials_lookup": TILL,
    "api.till_quote": TILL,
    "api.till_sale_create": TILL,
    "api.till_sales_list": TILL,
    "api.till_sale_get": TILL,
    "api.till_sale_void": TILL,  # approval: a supervisor's PIN or token, checked by the view
    "api.till_quota_today": TILL,
    "api.till_shift_open": TILL,
    "api.till_shift_close": TILL,
    "api.till_shift_current": TILL,
    # --- till devices and free-meal leases (issue: the till keeps selling offline) ---
    "api.devices_register": SUPERVISE,  # scoped: a supervisor registers tills of their canteen
    "api.devices_list": SUPERVISE,
    "api.device_revoke": SUPERVISE,
    "api.device_lease": TILL,  # the device proves itself (X-Till-Device), checked by the view
    "api.device_lease_return": TILL,
    "api.device_heartbeat": TILL,
    "api.till_offline_kit": TILL,  # the device proves itself (X-Till-Device), checked by the view
    "backoffice.devices_page": SUPERVISE,  # the canteen's tills: last sync, queued, lease (scoped)
    "backoffice.device_revoke": SUPERVISE,
    "backoffice.exceptions_page": SUPERVISE,  # serving exceptions and late offline sales (scoped)
    "backoffice.exception_resolve": SUPERVISE,
    # --- reports and day close (issue: reports) -----------------------------------
    "reports.index": ACCOUNTS,  # month page; supervisors also close days there
    "reports.daily_pdf": ACCOUNTS,
    "reports.monthly_pdf": ACCOUNTS,  # scoped: supervisors their canteen, accountants their community
    "reports.monthly_summary_csv": ACCOUNTS,
    "reports.monthly_grants_csv": ACCOUNTS,
    "reports.monthly_xlsx": ACCOUNTS,  # the claim as XLSX (typed cells), beside the CSVs
    "reports.chart_svg": ACCOUNTS,
    "reports.day_close": SUPERVISE,
    "api.reports_day_close": SUPERVISE,
    "corrections.page": SUPERVISE,  # corrections after close: find the sale of a closed day
    "corrections.book": SUPERVISE,  # approval: a second supervisor's (or an admin's) PIN, checked by the view
    "api.corrections_book": SUPERVISE,
    # --- the claim as a record (issue: the books stay right) ------------------------
    "claims.index": CLAIMS,
    "claims.new": ACCOUNTANT,  # the draft with its checks; submitting it
    "claims.claim": CLAIMS,
    "claims.claim_pdf": CLAIMS,  # printed from the frozen document
    "claims.claim_csv": CLAIMS,
    "claims.claim_json": CLAIMS,
    "claims.approve": APPROVE,
    "claims.return_": APPROVE,
    "claims.payment": ACCOUNTANT,
    "api.claims_list": PLATFORM,
    "api.claim_get": PLATFORM,
    "api.claims_submit": ACCOUNTANT,
    "api.claim_approve": APPROVE,
    "api.claim_return": APPROVE,
    "api.claim_payment": ACCOUNTANT,
    # --- security and administration ----------------------------------------------
}


#: What a user who must choose a new password (an admin asked for it) may still reach,
#: besides the public routes (sign-in, the language switch): the change itself, signing
#: out and revoking their token.  Everything else redirects to the change-password page
#: (API: 403 password_change_required); pos/web/signin.py applies it.
WHILE_PASSWORD_CHANGE_REQUIRED = frozenset({"account.password", "api.auth_password", "auth.logout",
                                            "api.auth_token_revoke"})


def allowed(endpoint: str | None, role: str | None) -> bool | None:
    """True/False for a declared endpoint; None when the endpoint is not declared."""
    roles = ROUTE_ROLES.get(endpoint or "")
    if roles is None:
        return None
    if roles is PUBLIC or "anonymous" in roles:
        return True
    return role in roles


class _Canteen(Protocol):
    code: str
    community: str


@dataclass(frozen=True)
class Scope:
    """The canteens a member of staff may see and act for.

    Staff tied to a canteen (cashiers, supervisors, most registrars) have that canteen;
    staff tied to a community (accountants) have its canteens; an admin tied to neither
    has the whole district.  Diners belong to a community: :attr:`diner_community`.
    """

    canteen_id: str | None
    community: str | None

    @classmethod
    def of(cls, user) -> "Scope":
        """The scope of ``user`` (anything with ``role``, ``canteen_id`` and ``community``)."""
        if user.role == "admin" and user.canteen_id is None:
            return cls(None, None)
        return cls(user.canteen_id, user.community)

    @property
    def district_wide(self) -> bool:
        return self.canteen_id is None and self.community is None

    def allows(self, canteen: _Canteen) -> bool:
        if self.canteen_id is not None:
            return canteen.code == self.canteen_id
        return self.community is None or canteen.community == self.community

    def check(self, canteen: _Canteen) -> None:
        """Refuse (``other_canteen`` / ``other_community``) a canteen outside the scope."""
        if self.allows(canteen):
            return
        if self.canteen_id is not None:
            raise Refusal("other_canteen", "不能操作其他食堂的数据", "this belongs to another canteen")
        raise Refusal("other_community", "不能查看其他社区的数据", "this belongs to another community")

    def canteens(self, canteens: Iterable[_Canteen]) -> list:
        """The canteens of ``canteens`` inside the scope, in their order."""
        return [c for c in canteens if self.allows(c)]

    def diner_community(self, default: str) -> str | None:
        """The community whose diners they may see and register: None for the district."""
        return None if self.district_wide else (self.community or default)
