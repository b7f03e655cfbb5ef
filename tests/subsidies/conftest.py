"""The subsidy tests.  This folder's helper modules (decision_cases, decision_table) are imported
by name, so the folder goes on sys.path (tests/ itself holds the real ``subsidies`` package's
namesake, which a namespace import would shadow)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
