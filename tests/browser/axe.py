"""axe-core (installed from npm by `make test`, pinned by package-lock.json) run inside a page
that Playwright drives: the WCAG 2.x A and AA rules, and the violations a person with a
screen reader, low vision or big fingers cannot get past (impact serious or critical)."""
from __future__ import annotations

import pytest

from support import IN_CI, ROOT

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
#: How many of a rule's offending elements a report names (the rest are counted).
TARGETS_SHOWN = 4


def axe_source() -> str:
    """axe.min.js, or skip (fail on CI) saying how to install it."""
    if not AXE_JS.exists():
        msg = "axe-core is missing: run `npm ci` (or `make test`, which does)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return AXE_JS.read_text(encoding="utf-8")


def blocking_violations(page, *, include: str | None = None) -> list[str]:
    """The serious and critical WCAG A/AA violations on the page as it is now, one readable
    line each (rule, impact, help, the first offending elements); empty when there is none.

    axe is evaluated through the DevTools protocol (``page.evaluate``), which the page's
    Content-Security-Policy does not govern: the page is checked with its CSP on, exactly as
    the app serves it, with no ``bypass_csp`` context and no script tag the CSP would refuse.
    ``include`` limits the check to one element (a selector), e.g. an open sheet."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    found = page.evaluate(
        """([include, tags]) => axe.run(include ? {include: [include]} : document,
                                      {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
             .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                 targets: v.nodes.map(n => n.target.join(" "))})))""",
        [include, WCAG_TAGS])
    lines = []
    for v in found:
        if v["impact"] not in BLOCKING:
            continue
        targets = v["targets"]
        more = f" (+{len(targets) - TARGETS_SHOWN} more)" if len(targets) > TARGETS_SHOWN else ""
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {', '.join(targets[:TARGETS_SHOWN])}{more}")
    return lines


def assert_readable(page, state: str, **kw) -> None:
    """Fail naming the state and every blocking violation found in it."""
    problems = blocking_violations(page, **kw)
    assert not problems, f"axe-core on {state} ({page.url}):\n  " + "\n  ".join(problems)

