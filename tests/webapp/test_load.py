"""A bounded run of the load benchmark (bench/load.py) in the suite: 8 clients send mixed
requests to a real `outfit serve` at once; afterwards the closet holds exactly what their
ledgers say and passes the integrity report. The full run (10,000 requests) is
`.venv/bin/python bench/load.py`. A hostile client sends requests an attacker would in the
same run: each must be refused as it should, and change nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_concurrent_clients_lose_nothing(load, tmp_path):
    home = load.prepare_home(None, tmp_path)
    report = load.run_load(home, clients=8, requests=480, seed=3, hostile=90)
    assert report["server_errors"] == 0, report["server_error_samples"]
    assert report["requests"] == 480
    assert set(report["per_kind"]) == set(load.KINDS)  # every kind of request was sent
    for key in ("lost", "duplicated", "resurrected", "unexpected"):
        assert report[key] == 0, (key, report)
    assert report["created"] > 0 and report["deleted"] > 0
    assert report["items_after"] == report["items_before"] + report["created"] - report["deleted"]
    assert report["integrity_ok"], report["integrity"]
    # The hostile client in the mix: every kind sent, each refused as it must be, its target
    # unchanged (and, by the ledger check above, nothing of it stored).
    hostile = report["hostile"]
    kinds = sys.modules["load_hostile"].HOSTILE_KINDS
    assert hostile["sent"] == 90 and set(hostile["per_kind"]) == set(kinds)
    assert hostile["refused_correctly"] == hostile["sent"], hostile["per_kind"]
    assert hostile["victim_unchanged"]
    # Clients touch only their own items: the only refusals are explanations of outfits whose
    # item another client deleted meanwhile (404).
    for kind, figures in report["per_kind"].items():
        if kind != "explain":
            assert "4xx" not in figures, (kind, figures.get("4xx_samples"))
    for sample in report["per_kind"]["explain"].get("4xx_samples", []):
        assert sample.startswith("404 ") and "not_found" in sample
