"""Erasure in the frozen documents: a day close's report and a claim revision's document.

Both were frozen as canonical JSON when the day was closed or the claim submitted, and
print from those bytes forever (:mod:`reports.frozen`).  They name a diner by pseudonym and,
beside it, the masked ID (the claim office checks "110101********1234" against its own
list).  When a diner is erased (:mod:`pos.store.diner_rights`) the masked ID goes from these
documents too: only the ``masked_id`` fields that sit beside one of the diner's pseudonyms
and hold one of the masked IDs the diner has had; the money, the pseudonyms and every
other byte stay.

The digest recorded at freezing is not changed: it is what the accountant signed, what a
claim quotes for each day close it covers, and what the printed documents show.  Each
redaction records the digest of the text it left, so :func:`document_problems` (run by
``canteen verify``) can tell a document redacted by an erasure from one edited by hand.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from pos.ids import new_id
from pos.tx import Tx

#: The frozen documents, as ``document_redactions.document`` names them.
DOCUMENTS = ("day_close", "claim_revision")
_FIELD, _BESIDE = "masked_id", "diner"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(tree: Any) -> str:
    # The one form both documents are frozen in (reports.queries.canonical_json and
    # reports.claim_document.document_json): sorted keys, no spaces, UTF-8 as is.
    return json.dumps(tree, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _redact(tree: Any, pseudonyms: frozenset[str], masked: frozenset[str], placeholder: str) -> int:
    """Replace, in place, the masked IDs beside the diner's pseudonyms; returns how many."""
    count = 0
    if isinstance(tree, dict):
        if tree.get(_BESIDE) in pseudonyms and tree.get(_FIELD) in masked:
            tree[_FIELD] = placeholder
            count += 1
        values: Iterable[Any] = tree.values()
    elif isinstance(tree, list):
        values = tree
    else:
        return 0
    for value in values:
        count += _redact(value, pseudonyms, masked, placeholder)
    return count


@dataclass(frozen=True)
class _Frozen:
    document: str
    key: str
    text: str
    update_sql: str
    params: dict[str, Any]


def _candidates(tx: Tx, masked: frozenset[str]) -> list[_Frozen]:
    """The frozen documents whose text holds one of the masked IDs (a cheap LIKE first)."""
    out: list[_Frozen] = []
    for value in sorted(masked):
        like = {"p": f"%{value}%"}
        for canteen_id, day, text in tx.all("SELECT canteen_id, business_date, report_json FROM day_closes "
                                            "WHERE report_json LIKE :p", like):
            day = tx.date(day)
            out.append(_Frozen("day_close", f"{canteen_id} {day.isoformat()}", text,
                               "UPDATE day_closes SET report_json = :t WHERE canteen_id = :c AND business_date = :d",
                               {"c": canteen_id, "d": day}))
        for claim_id, revision, text in tx.all("SELECT claim_id, revision, content_json FROM claim_revisions "
                                               "WHERE content_json LIKE :p", like):
            out.append(_Frozen("claim_revision", f"{claim_id} {revision}", text,
                               "UPDATE claim_revisions SET content_json = :t WHERE claim_id = :c AND revision = :r",
                               {"c": claim_id, "r": revision}))
    seen, unique = set(), []
    for f in out:
        if (f.document, f.key) not in seen:
            seen.add((f.document, f.key))
            unique.append(f)
    return unique


def redact_diner(tx: Tx, *, diner_id: str, pseudonyms: Iterable[str], masked_ids: Iterable[str],
                 placeholder: str, at: datetime) -> int:
    """Replace the diner's masked IDs in every frozen document, recording each document
    redacted; returns the number of fields replaced."""
    names = frozenset(p for p in pseudonyms if p)
    masked = frozenset(m for m in masked_ids if m and m != placeholder)
    if not names or not masked:
        return 0
    total = 0
    for frozen in _candidates(tx, masked):
        tree = json.loads(frozen.text)
        count = _redact(tree, names, masked, placeholder)
        if not count:
            continue
        text = _canonical(tree)
        tx.execute(frozen.update_sql, {**frozen.params, "t": text})
        tx.execute("INSERT INTO document_redactions (id, document, document_key, diner_id, redacted_at, fields, "
                   "sha256_after) VALUES (:i, :doc, :k, :d, :at, :n, :h)",
                   {"i": new_id(), "doc": frozen.document, "k": frozen.key, "d": diner_id, "at": at, "n": count,
                    "h": _sha256(text)})
        total += count
    return total


@dataclass(frozen=True)
class DocumentProblem:
    """A frozen document whose text is neither what was frozen nor what its last
    redaction left."""

    document: str
    key: str
    recorded: str
    found: str


def document_problems(tx: Tx, *, canteen_id: str) -> list[DocumentProblem]:
    """The canteen's day closes, and the claim revisions covering it, whose stored text
    does not hash to the digest recorded at freezing nor to their latest redaction's."""
    last = {(r[0], r[1]): r[2] for r in tx.all(
        "SELECT document, document_key, sha256_after FROM document_redactions ORDER BY redacted_at, id", {})}
    docs = [("day_close", f"{c} {tx.date(d).isoformat()}", text, digest) for c, d, text, digest in tx.all(
        "SELECT canteen_id, business_date, report_json, report_sha256 FROM day_closes WHERE canteen_id = :c "
        "ORDER BY business_date", {"c": canteen_id})]
    docs += [("claim_revision", f"{i} {r}", text, digest) for i, r, text, digest in tx.all(
        "SELECT r.claim_id, r.revision, r.content_json, r.content_sha256 FROM claim_revisions r "
        "WHERE r.claim_id IN (SELECT claim_id FROM claim_canteens WHERE canteen_id = :c) "
        "ORDER BY r.claim_id, r.revision", {"c": canteen_id})]
    out = []
    for document, key, text, digest in docs:
        found = _sha256(text)
        if found != last.get((document, key), digest):
            out.append(DocumentProblem(document, key, digest, found))
    return out


def redactions_of(tx: Tx, *, document: str, key: str) -> list[tuple[datetime, int]]:
    """When a frozen document was redacted, and how many fields each time."""
    return [(tx.datetime(r[0]), r[1]) for r in tx.all(
        "SELECT redacted_at, fields FROM document_redactions WHERE document = :doc AND document_key = :k "
        "ORDER BY redacted_at, id", {"doc": document, "k": key})]
