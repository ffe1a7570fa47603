"""The package layering (README, "How the code is laid out"): imports flow one way, nothing heavy
at import time, and no module or function grows past what a newcomer can read in one go."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each package may import only the packages below it (and itself).
LAYERS = {
    "outfit": set(),
    "data": {"outfit"},
    "grader": {"outfit", "data"},
    "recommender": {"outfit", "data", "grader"},
    "explain": {"outfit", "data", "grader"},
    "closet": {"outfit", "data", "grader"},
    "usecases": {"outfit", "data", "grader", "recommender", "explain", "closet"},
    "webapp": {"outfit", "data", "grader", "recommender", "explain", "closet", "usecases"},
    "outfit_cli": {"outfit", "data", "grader", "recommender", "explain", "closet", "usecases",
                   "webapp"},
}
PRODUCT = [*LAYERS, "bench"]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Longer than the limits, and why ("path" or "path:function": reason), for the rare piece that
# reads better whole; each is a place to split when it next changes.
LONG_MODULES: dict[str, str] = {}  # none at present
LONG_FUNCTIONS: dict[str, str] = {}  # none at present


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def _sources(packages):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_imports_flow_one_way():
    wrong = []
    for package, allowed in LAYERS.items():
        for path in _sources([package]):
            bad = _imported_packages(path) - allowed - {package}
            if bad:
                wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not wrong, ("a package may import only the packages below it (outfit < data < grader "
                       "< recommender, explain, closet < usecases < webapp < outfit_cli), even "
                       "inside a function:\n" + "\n".join(wrong))


def test_domain_and_data_import_without_torch():
    code = ("import sys, outfit, outfit_cli, data, data.polyvore, data.synth; "
            "print(sorted(m for m in ('torch', 'torchvision', 'pandas', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "[]", "the domain, the data readers and `outfit --help` must " \
                                       "not load torch, pandas or matplotlib"


def test_modules_and_functions_stay_short():
    long_modules, long_functions = [], []
    for path in _sources(PRODUCT):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES and rel not in LONG_MODULES:
            long_modules.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES and f"{rel}:{node.name}" not in LONG_FUNCTIONS:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not long_modules and not long_functions, (
        f"no module over {MAX_MODULE_LINES} lines and no function over {MAX_FUNCTION_LINES} "
        "(split it, or list it with its reason in this test):\n"
        + "\n".join(long_modules + long_functions))


def test_the_listed_exceptions_are_still_long():
    """An exception that is no longer needed is taken off the list."""
    stale = [m for m in LONG_MODULES if (ROOT / m).read_text().count("\n") <= MAX_MODULE_LINES]
    for key in LONG_FUNCTIONS:
        rel, name = key.split(":")
        lengths = [n.end_lineno - n.lineno + 1 for n in ast.walk(ast.parse((ROOT / rel).read_text()))
                   if isinstance(n, ast.FunctionDef) and n.name == name]
        if not lengths or max(lengths) <= MAX_FUNCTION_LINES:
            stale.append(key)
    assert not stale, "listed as long but no longer are (remove them from the lists): " + \
        ", ".join(stale)


def test_tests_cite_nothing_outside_the_repository():
    """The repository's own docs carry what a newcomer needs; ../shared is not on a user's disk
    (its data may be read by tests that skip without it, but no test cites its documents)."""
    outside = [name + ".md" for name in ("DESIGN", "STYLE")]  # spelled so as not to cite them
    cited = [f"{p.relative_to(ROOT)}" for p in sorted((ROOT / "tests").rglob("*.py"))
             if any(doc in p.read_text() for doc in outside)]
    assert not cited, "tests cite documents outside the repository: " + ", ".join(cited)
