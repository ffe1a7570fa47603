"""``outfit explain`` and ``outfit evaluate-explainer`` end to end on the tiny world."""

import json

import pytest
from click.testing import CliRunner

from data.loaders import load_dataset
from outfit_cli import cli


@pytest.fixture(scope="module")
def outfit_ids(tiny_world) -> list[str]:
    """A good outfit of the train split (whose items make up the closet of a dataset)."""
    return list(load_dataset(tiny_world, split="train").outfits[0].item_ids)


def _explain(tiny_world, tiny_model, ids, *extra):
    return CliRunner().invoke(cli, ["explain", "--model", str(tiny_model), "--closet",
                                    str(tiny_world), "--items", ",".join(ids), *extra])


def test_explain_json_names_the_given_items(tiny_world, tiny_model, outfit_ids):
    result = _explain(tiny_world, tiny_model, outfit_ids, "--json", "--k", "3")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    att = doc["attribution"]
    assert att["items"] == outfit_ids and att["method"] == "gxa"
    assert len(att["values"]) == len(outfit_ids)
    assert all(len(row) == len(att["groups"]) for row in att["values"])
    assert 0.0 <= att["score"] <= 1.0
    assert doc["reasons"] and all(isinstance(s, str) and s for s in doc["reasons"])
    sug = doc["suggestion"]
    assert sug["item"] in outfit_ids and 1 <= len(sug["replacements"]) <= 3
    # the harmful item is the one with the most negative total
    totals = att["item_totals"]
    assert sug["item"] == outfit_ids[totals.index(min(totals))]
    assert all(r["item"] not in outfit_ids for r in sug["replacements"])
    hints = doc["property_hints"]
    assert sug["item"] in hints["tried"] and hints["sentence"] and len(hints["hints"]) <= 3
    for h in hints["hints"]:
        assert h["item"] in outfit_ids and h["new"] != h["old"] and h["score"] > h["before"]


def test_explain_prints_table_reasons_and_suggestion(tiny_world, tiny_model, outfit_ids):
    result = _explain(tiny_world, tiny_model, outfit_ids, "--method", "shapley-items")
    assert result.exit_code == 0, result.output
    closet = load_dataset(tiny_world, split="train")
    lines = result.output.splitlines()
    assert any(line.startswith("item") and "colour" in line and "total" in line for line in lines)
    for i in outfit_ids:
        assert closet.item(i).label[:40] in result.output
    assert "shapley-items" in lines[0]
    assert any(line.endswith(".") for line in lines[len(outfit_ids) + 2:])  # sentences
    hint = next(line for line in lines if line.startswith("Shopping hint: "))
    assert hint.endswith(".") and ("->" in hint or "Nothing to change" in hint)


def test_explain_refuses_unknown_ids_and_methods(tiny_world, tiny_model, outfit_ids):
    result = _explain(tiny_world, tiny_model, [*outfit_ids[:2], "no-such-item"])
    assert result.exit_code != 0
    assert "no-such-item" in result.output and "Traceback" not in result.output
    result = _explain(tiny_world, tiny_model, outfit_ids, "--method", "tea-leaves")
    assert result.exit_code != 0
    assert "tea-leaves" in result.output and "gxa" in result.output
    result = CliRunner().invoke(cli, ["explain", "--model", str(tiny_model), "--items",
                                      ",".join(outfit_ids)])
    assert result.exit_code != 0 and "--closet" in result.output


def test_evaluate_explainer_writes_the_report(tiny_world, tiny_model, tmp_path):
    out = tmp_path / "report" / "explainer.json"
    result = CliRunner().invoke(cli, ["evaluate-explainer", str(tiny_world), "--model",
                                      str(tiny_model), "--method", "gxa", "--method",
                                      "shapley-items", "--max-outfits", "3", "--margin", "0.01",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc["methods"]) == {"gxa", "shapley-items"}
    assert {"methods", "random", "outfits"} <= set(doc) and 1 <= doc["outfits"] <= 3
    for m in doc["methods"].values():
        for key in ("top1_item", "top1_item_group", "mrr"):
            assert m[key] is None or 0.0 <= m[key] <= 1.0
        assert set(m["randomisation"]) >= {"passed", "spearman"}
    assert doc["methods"]["shapley-items"]["top1_item_group"] is None
    assert "random" in result.output and "shapley-items" in result.output


def test_evaluate_explainer_refuses_a_folder_without_outfits(tiny_model, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate-explainer", str(tmp_path), "--model",
                                      str(tiny_model), "--max-outfits", "2"])
    assert result.exit_code != 0
    assert str(tmp_path) in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["evaluate-explainer", str(tmp_path), "--model",
                                      str(tiny_model), "--method", "tea-leaves"])
    assert result.exit_code != 0 and "tea-leaves" in result.output
