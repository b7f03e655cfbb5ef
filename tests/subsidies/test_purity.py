"""subsidies/ is pure: importing every module of it pulls in no web, ORM or PDF library."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import subsidies

FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "reportlab"}
ROOT = Path(__file__).resolve().parents[2]


def _all_modules() -> list[str]:
    names = ["subsidies"]
    names += [f"subsidies.{m.name}" for m in pkgutil.iter_modules(subsidies.__path__)]
    return names


def test_the_package_has_the_modules_other_code_relies_on():
    assert {"subsidies.engine", "subsidies.resident_id", "subsidies.age",
            "subsidies.policy", "subsidies.money"} <= set(_all_modules())


def test_importing_every_subsidies_module_loads_no_flask_sqlmodel_sqlalchemy_or_reportlab():
    code = (
        "import importlib, sys\n"
        f"for name in {_all_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(FORBIDDEN)!r}))\n"
        "assert not loaded, loaded\n"
        "print('pure')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"
