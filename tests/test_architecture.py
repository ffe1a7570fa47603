"""The package layering of DESIGN.md: imports flow one way, and nothing heavy at import time."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each package may import only the packages below it.
LAYERS = {
    "outfit": set(),
    "data": {"outfit"},
    "grader": {"outfit", "data"},
    "recommender": {"outfit", "data", "grader"},
    "explain": {"outfit", "data", "grader"},
    "closet": {"outfit", "data", "grader"},
    "webapp": {"outfit", "data", "grader", "recommender", "explain", "closet"},
}
# The command line lives in outfit/ (DESIGN.md) and reaches up, lazily, inside its commands.
ENTRY_POINTS = {ROOT / "outfit" / "cli.py"}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def test_imports_flow_one_way():
    wrong = []
    for package, allowed in LAYERS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in ENTRY_POINTS:
                continue
            bad = _imported_packages(path) - allowed - {package}
            if bad:
                wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_domain_and_data_import_without_torch():
    code = ("import sys, outfit, outfit.cli, data, data.polyvore, data.synth; "
            "print(sorted(m for m in ('torch', 'torchvision', 'pandas', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "[]"
