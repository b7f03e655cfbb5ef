"""Every way a voucher, ticket or short code can be wrong is refused with its own code and
message; valid ones resolve to the diner's facts."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlmodel import select

from backoffice.bo_helpers import make_id_number, staff_id
from pos.models import Diner, Voucher
from pos.store import credentials, tokens
from pos.store import vouchers as vstore
from pos.store.credentials import CredentialRequest
from pos.store.diners import register_diner, set_suspended
from pos.refusal import Refusal
from pos.web.api.answers import credential_out
from pos.web.refusals import status_of


def scan(ctx, text, *, today=None, canteen="YLW01", settings=None):
    with ctx.db.tx() as tx:
        return credentials.resolve_scan(tx, settings=settings or ctx.settings, text=text, today=today or ctx.today,
                                        canteen_id=canteen)


def by_number(ctx, number):
    with ctx.db.tx() as tx:
        return credentials.resolve(tx, settings=ctx.settings, request=CredentialRequest(id_number=number),
                                   today=ctx.today, canteen_id="YLW01")


def refusal(ctx, text, **kw) -> Refusal:
    with pytest.raises(Refusal) as e:
        scan(ctx, text, **kw)
    assert 400 <= status_of(e.value.code) < 500
    return e.value


def a_voucher(ctx, name="张金娴"):
    """The demo diner's active voucher, as issued."""
    with ctx.db.session() as s:
        d = s.exec(select(Diner).where(Diner.name == name)).one()
        return vstore.issued(ctx.settings, vstore.active_voucher(session=s, diner_id=d.id))


def reissue(ctx, diner_id):
    with ctx.db.transaction() as s:
        return vstore.issue_voucher(session=s, settings=ctx.settings, diner_id=diner_id,
                                    staff_id=staff_id(ctx.app, "registrar"), today=ctx.today)


def tickets(ctx, day, n=2, canteen="YLW01"):
    with ctx.db.transaction() as s:
        return vstore.issue_tickets(session=s, settings=ctx.settings, canteen_id=canteen, business_date=day, count=n,
                                    staff_id=staff_id(ctx.app, "supervisor"), today=ctx.today)


# --- what is accepted ------------------------------------------------------------------

def test_voucher_url_token_and_short_code_all_resolve_to_the_diner(ctx):
    v = a_voucher(ctx)
    typed_code = " " + tokens.display_code(v.code).lower().replace("-", " - ") + "\n"
    for text in (v.url, v.token, "https://another-host.example/canteen/v/" + v.token + "?utm=x", typed_code):
        cred = scan(ctx, text)
        assert cred.kind == "voucher" and cred.voucher_id == v.voucher.id
        assert cred.facts.kind == "registered" and cred.masked_name == "张*娴"
        assert cred.band_zh.startswith("80岁以上") and cred.band_en.startswith("80+")


def test_credential_json_never_carries_the_pseudonym_or_birth_date(ctx):
    cred = scan(ctx, a_voucher(ctx).url)
    text = str(credential_out(cred).model_dump())
    assert cred.diner_key not in text and "birth" not in text
    assert cred.diner_key and len(cred.diner_key) == 64  # the HMAC, for the limit only


def test_a_suspended_diner_is_not_refused_but_marked_for_the_engine(ctx):
    v = a_voucher(ctx)
    with ctx.db.transaction() as s:
        set_suspended(session=s, diner_id=v.voucher.diner_id, staff_id=staff_id(ctx.app, "registrar"),
                      community=None, suspended=True, reason="moved away")
    cred = scan(ctx, v.url)
    assert cred.facts.suspended is True and cred.band_zh.startswith("已停用")


def test_a_ticket_resolves_on_its_date_at_its_canteen(ctx):
    t = tickets(ctx, ctx.today, 1)[0]
    for text in (t.url, t.token, tokens.display_code(t.ticket.code)):
        cred = scan(ctx, text)
        assert cred.kind == "ticket" and cred.facts.kind == "ticket" and cred.facts.ticket_date == ctx.today
        assert cred.diner_key == f"ticket:{t.ticket.id}" and cred.band_zh == "公益餐券"


def test_resident_id_of_a_registered_diner_and_of_a_walk_in(ctx):
    number = make_id_number(7, date(1950, 5, 6))
    with ctx.db.transaction() as s:
        register_diner(session=s, id_key=ctx.settings.id_key, staff_id=staff_id(ctx.app, "registrar"),
                       community="云鹭湾社区", name="测试人", id_number=number, resident=True, today=ctx.today)
    known = by_number(ctx, number.lower())
    walk_in = by_number(ctx, make_id_number(8, date(1940, 1, 2)))
    # Typed into the scan box, an ID number is understood too.
    via_scan = scan(ctx, number)
    assert known.kind == "resident_id" and known.facts.kind == "registered" and known.masked_name == "测*人"
    assert via_scan.diner_id == known.diner_id
    assert walk_in.facts.kind == "walk_in" and walk_in.facts.resident is False and walk_in.diner_id is None
    assert walk_in.facts.birth_date == date(1940, 1, 2) and walk_in.band_zh == "未登记 · 80岁以上"


def test_a_bad_resident_id_is_refused_with_the_engines_message(ctx):
    bad = make_id_number(9, date(1950, 5, 6))[:-1] + "0"
    bad = bad if bad != make_id_number(9, date(1950, 5, 6)) else bad[:-1] + "1"
    with pytest.raises(Refusal) as e:
        by_number(ctx, bad)
    assert status_of(e.value.code) == 422 and e.value.code == "resident_id_check_character" and "校验位" in e.value.zh
    # Typed into the scan box, a wrong or old-style number gets the same explanations.
    assert refusal(ctx, bad).code == "resident_id_check_character"
    assert refusal(ctx, "330205500506301").code == "resident_id_first_generation"


# --- what is refused, each with its own message ------------------------------------------

def test_every_refusal_has_its_own_code_and_message(ctx):
    v = a_voucher(ctx)
    body, sig = v.token.split(".")
    flipped_sig = body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    with ctx.db.session() as s:
        row = s.get(Voucher, v.voucher.id)
    other_key = tokens.seal(secret_key="another-installation-secret-key", kind=tokens.KIND_VOUCHER,
                            row_id=row.id, number=row.version)
    # A genuine-looking payload for version 2 of the same row, carrying version 1's signature.
    raised_version = tokens._b64(tokens._unb64(body, 15)[:12] + (2).to_bytes(3, "big")) + "." + sig

    cases = {
        "voucher_forged": [flipped_sig, raised_version, v.url.replace(sig, sig[::-1])],
        "voucher_truncated": [v.token[:-1], v.token[:30], v.token[:20], v.url[:-8], body],
        "voucher_wrong_key": [other_key],
    }
    seen = {}
    for code, texts in cases.items():
        for text in texts:
            e = refusal(ctx, text)
            assert e.code == code, (text, e.code)
            seen[code] = (e.zh, e.en)

    expired = refusal(ctx, v.url, today=row.valid_until + timedelta(days=1))
    assert expired.code == "voucher_expired" and row.valid_until.isoformat() in expired.zh
    assert scan(ctx, v.url, today=row.valid_until).kind == "voucher"  # the last valid day still works
    seen["voucher_expired"] = (expired.zh, expired.en)

    new = reissue(ctx, row.diner_id)
    for text in (v.url, v.code):
        e = refusal(ctx, text)
        assert e.code == "voucher_superseded"
    seen["voucher_superseded"] = (e.zh, e.en)
    assert scan(ctx, new.url).voucher_id == new.voucher.id

    with ctx.db.transaction() as s:
        vstore.revoke_voucher(session=s, voucher_id=new.voucher.id)
    for text in (new.url, new.code):
        e = refusal(ctx, text)
        assert e.code == "voucher_revoked"
    seen["voucher_revoked"] = (e.zh, e.en)

    tomorrow = tickets(ctx, ctx.today + timedelta(days=1), 1)[0]
    e = refusal(ctx, tomorrow.url)
    assert e.code == "ticket_wrong_date" and (ctx.today + timedelta(days=1)).isoformat() in e.zh
    seen["ticket_wrong_date"] = (e.zh, e.en)
    yesterday_ticket = tickets(ctx, ctx.today, 1)[0]
    e = refusal(ctx, yesterday_ticket.url, today=ctx.today + timedelta(days=1))
    assert e.code == "ticket_wrong_date"

    elsewhere = tickets(ctx, ctx.today, 1, canteen="JM01")[0]
    e = refusal(ctx, elsewhere.url, canteen="YLW01")
    assert e.code == "ticket_other_canteen"
    seen["ticket_other_canteen"] = (e.zh, e.en)

    t_body, t_sig = elsewhere.token.split(".")
    e = refusal(ctx, t_body + "." + t_sig[::-1], canteen="JM01")
    assert e.code == "ticket_forged"
    seen["ticket_forged"] = (e.zh, e.en)

    code = v.code
    typo = code[:3] + ("2" if code[3] != "2" else "3") + code[4:]
    e = refusal(ctx, typo)
    assert e.code == "code_mistyped"
    seen["code_mistyped"] = (e.zh, e.en)
    unknown_body = "22222222"
    e = refusal(ctx, unknown_body + tokens.code_check_character(unknown_body))
    assert e.code == "unknown_code" and status_of(e.code) == 404
    seen["unknown_code"] = (e.zh, e.en)
    e = refusal(ctx, "   ")
    assert e.code == "empty_scan"

    messages_zh = [zh for zh, _ in seen.values()]
    messages_en = [en for _, en in seen.values()]
    assert len(set(messages_zh)) == len(seen) and len(set(messages_en)) == len(seen), seen


def test_a_token_of_a_voucher_row_that_does_not_exist_is_unknown(ctx):
    token = tokens.seal(secret_key=ctx.settings.secret_key, kind=tokens.KIND_VOUCHER, row_id="0" * 20, number=1)
    e = refusal(ctx, token)
    assert e.code == "voucher_unknown" and status_of(e.code) == 404


def test_secret_key_rotation_reports_the_old_cards_as_signed_with_another_key(ctx):
    v = a_voucher(ctx)
    rotated = replace(ctx.settings, secret_key="a-brand-new-secret-key-after-rotation")
    assert refusal(ctx, v.url, settings=rotated).code == "voucher_wrong_key"


def test_short_codes_carry_a_check_character_that_catches_typos_and_swaps():
    import random

    rng = random.Random(4)
    for _ in range(300):
        code = tokens.new_code(tokens.VOUCHER_CODE_LENGTH)
        assert tokens.code_is_well_formed(code)
        i = rng.randrange(len(code))
        other = rng.choice([c for c in tokens.CODE_ALPHABET if c != code[i]])
        assert not tokens.code_is_well_formed(code[:i] + other + code[i + 1:])
        j = rng.randrange(len(code) - 1)
        if code[j] != code[j + 1]:
            assert not tokens.code_is_well_formed(code[:j] + code[j + 1] + code[j] + code[j + 2:])
    assert not set("01IOL") & set(tokens.CODE_ALPHABET)


def test_the_token_is_short_enough_for_a_small_qr_code(ctx):
    from reports.printables import qr_version

    v = a_voucher(ctx)
    assert len(v.token) == tokens.TOKEN_LENGTH == 41
    assert qr_version(v.url) <= 7
    # Even behind a long public address the URL stays within version 7 at level M (122 bytes).
    assert qr_version("https://canteen.cicheng.jiangbei.ningbo.gov.cn/v/" + v.token) <= 7
