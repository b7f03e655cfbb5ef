"""The shape of the code, checked: no import loops (imports inside functions counted), the
store, the rules and the reports free of the web framework and of HTTP statuses, one
table from refusal codes to statuses, and no two modules with one name."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pos", "subsidies", "reports")
WEB = ("flask", "flask_login", "flask_wtf", "flask_openapi3", "werkzeug", "jinja2", "markupsafe")
BELOW_THE_WEB = ("pos.store", "pos.recording", "pos.demo", "subsidies", "reports")


def modules() -> dict[str, Path]:
    """Every module of the project by its dotted name."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, at any depth of the file (functions included).
    ``from a import b`` counts as importing ``a.b`` when that is a module, else ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert loops(edges) == [["a", "b", "c"]]
    known = {"pos", "pos.store", "pos.store.sales", "pos.web", "pos.web.api", "pos.web.api.answers"}
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from pos.store import sales\n    from ..api import answers\n", encoding="utf-8")
    assert imports_of("pos.web.cli.probe", probe, known) == {"pos.store.sales", "pos.web.api.answers"}


def test_no_module_of_the_project_takes_part_in_an_import_loop():
    found = loops(graph())
    assert not found, "import loops: " + "; ".join(" -> ".join(c) for c in found)


#: What each part may import of the project (README, Architecture): the foundation modules
#: of pos, then the store, then what serves it, then the web layer.
FOUNDATION = ("pos.config", "pos.clock", "pos.ids", "pos.models", "pos.refusal", "pos.tx", "pos.db", "pos.access")
MAY_IMPORT = {
    "subsidies": ("subsidies",),
    "reports": ("reports", "subsidies", "pos.models", "pos.config", "pos.clock"),
    # The store freezes what the reports compute: a day close's data, a submitted claim's document.
    "pos.store": ("pos.store", "subsidies", "reports.queries", "reports.rows", "reports.service",
                  "reports.anomaly_rules", "reports.claim_queries", "reports.claim_document", *FOUNDATION),
    "pos.recording": ("pos.recording", "pos.store", *FOUNDATION),
    "pos.demo": ("pos.demo", "pos.store", "subsidies", *FOUNDATION),
    # Backups copy the database; they take the sale writers' lock while a restore writes.
    "pos.backup": ("pos.backup", "pos.recording.sqlite_writer_lock", *FOUNDATION),
}


def _part(name: str) -> str | None:
    return next((p for p in sorted(MAY_IMPORT, key=len, reverse=True) if name == p or name.startswith(p + ".")), None)


def test_each_part_imports_only_what_the_architecture_lets_it():
    wrong = []
    for name, deps in graph().items():
        part = _part(name)
        if part is None:
            continue
        allowed = MAY_IMPORT[part]
        wrong += [f"{name} imports {dep}" for dep in sorted(deps)
                  if not any(dep == a or dep.startswith(a + ".") for a in allowed)]
    assert not wrong, wrong


def test_the_foundation_imports_no_part_above_it():
    wrong = [f"{name} imports {dep}" for name, deps in graph().items() if name in FOUNDATION
             for dep in sorted(deps) if dep.startswith(("pos.store", "pos.recording", "pos.demo", "pos.web"))]
    assert not wrong, wrong


def _direct_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", [n for n in modules() if n.startswith(BELOW_THE_WEB)])
def test_below_the_web_layer_nothing_imports_the_web_framework(name):
    assert not _direct_imports(modules()[name]) & set(WEB)
    assert not any(dep.startswith("pos.web") for dep in graph()[name]), graph()[name]


def test_importing_the_store_the_rules_and_the_reports_loads_no_web_framework():
    below = [n for n in modules() if n.startswith(BELOW_THE_WEB)]
    code = ("import importlib, sys\n"
            f"for name in {below!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(WEB)!r}))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _http_statuses(path: Path) -> list[str]:
    """Code that looks like an HTTP status at work: ``abort``, ``HTTPException``, or a
    refusal, an error or a response made with a status number (400-599)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name) and node.id in ("HTTPException", "abort", "ApiError"):
            found.append(f"line {node.lineno}: {node.id}")
        name = getattr(getattr(node, "func", None), "id", None) or getattr(getattr(node, "func", None), "attr", "")
        if isinstance(node, ast.Call) and (name in ("Refusal", "Response", "make_response", "jsonify")
                                           or name.endswith(("Error", "Exception"))):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and type(arg.value) is int and 400 <= arg.value < 600:
                    found.append(f"line {node.lineno}: a call given {arg.value}")
    return found


def test_the_status_check_sees_a_status_in_a_call(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    raise Refusal(409, 'x', 'y', 'z')\n", encoding="utf-8")
    assert _http_statuses(probe) == ["line 2: a call given 409"]


@pytest.mark.parametrize("name", [n for n in modules() if n.startswith(BELOW_THE_WEB)])
def test_below_the_web_layer_nothing_raises_an_http_status(name):
    assert not _http_statuses(modules()[name])


def _refusal_codes() -> set[str]:
    """Every literal code a Refusal is made with, anywhere in the project."""
    codes = set()
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Refusal"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                codes.add(node.args[0].value)
    return codes


def test_every_refusal_code_has_its_status_in_the_one_table():
    from pos.web.refusals import STATUS

    codes = _refusal_codes()
    assert len(codes) > 60
    assert codes <= set(STATUS), sorted(codes - set(STATUS))
    others = [p for n, p in modules().items() if n != "pos.web.refusals"
              and re.search(r"\{\s*40[0-9]\s*:\s*\(", p.read_text(encoding="utf-8"))]
    assert not others, f"another status table: {others}"


def test_no_two_modules_have_one_name():
    names = Counter(path.stem for path in modules().values() if path.name != "__init__.py")
    names.update(n.rpartition(".")[2] for n, p in modules().items() if p.name == "__init__.py" and "." in n)
    repeated = {n: c for n, c in names.items() if c > 1}
    assert not repeated, repeated
