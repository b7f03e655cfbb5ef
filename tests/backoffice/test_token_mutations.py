"""10,000 random mutations of a valid voucher token: none is accepted, and each refusal is
a clean 4xx refusal (never another exception)."""
from __future__ import annotations

import random
import string

from sqlmodel import select

from pos.models import Diner
from pos.store import credentials
from pos.store import vouchers as vstore
from pos.refusal import Refusal
from pos.web.refusals import status_of

ALPHABET = string.ascii_letters + string.digits + "-_."


def mutate(token: str, rng: random.Random) -> str:
    """One to three edits: substitute, insert, delete, swap neighbours, truncate, or flip case."""
    chars = list(token)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randrange(len(chars)) if chars else 0
        if op == 0 and chars:
            chars[i] = rng.choice([c for c in ALPHABET if c != chars[i]])
        elif op == 1:
            chars.insert(i, rng.choice(ALPHABET))
        elif op == 2 and chars:
            del chars[i]
        elif op == 3 and len(chars) > 1:
            j = min(i + 1, len(chars) - 1)
            chars[i], chars[j] = chars[j], chars[i]
        elif op == 4:
            chars = chars[:i]
        elif chars and chars[i].isalpha():
            chars[i] = chars[i].swapcase()
    return "".join(chars)


def test_ten_thousand_mutations_of_a_valid_token_are_all_refused(ctx):
    rng = random.Random(20260301)
    with ctx.db.session() as s:
        diner = s.exec(select(Diner).where(Diner.name == "冯师傅")).one()
        v = vstore.issued(ctx.settings, vstore.active_voucher(session=s, diner_id=diner.id))
    with ctx.db.tx() as tx:
        assert credentials.resolve_scan(tx, settings=ctx.settings, text=v.url, today=ctx.today,
                                        canteen_id="YLW01").voucher_id == v.voucher.id
        tried = 0
        codes: dict[str, int] = {}
        while tried < 10_000:
            text = mutate(v.token, rng)
            if text == v.token:
                continue
            tried += 1
            # Half as the bare token, half inside the voucher URL.
            scanned = text if tried % 2 else f"{ctx.settings.base_url}/v/{text}"
            try:
                cred = credentials.resolve_scan(tx, settings=ctx.settings, text=scanned, today=ctx.today,
                                                canteen_id="YLW01")
            except Refusal as e:
                assert 400 <= status_of(e.code) < 500
                codes[e.code] = codes.get(e.code, 0) + 1
            else:
                raise AssertionError(f"mutation {text!r} of {v.token!r} was accepted as {cred}")
    assert tried == 10_000
    # Most mutations break the signature or the shape; none slips through as a voucher.
    assert set(codes) <= {"voucher_forged", "voucher_truncated", "voucher_wrong_key", "unknown_code",
                          "code_mistyped", "ticket_forged", "ticket_truncated", "ticket_wrong_key",
                          "voucher_unknown", "ticket_unknown", "empty_scan"}, codes
    assert codes.get("voucher_forged", 0) > 1000 and codes.get("voucher_truncated", 0) > 1000
