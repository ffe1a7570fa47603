"""``outfit recommend`` end to end: a trained model, a Polyvore-layout closet."""

import json

from click.testing import CliRunner

from data.loaders import load_closet
from outfit_cli import cli


def test_recommend_prints_json_with_pins_and_exclusions(tiny_world, tiny_model, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("OUTFIT_HOME", str(tmp_path / "home"))
    closet, _ = load_closet(tiny_world)
    dress = next(it.id for it in closet.items if it.slot == "full")
    shoes = [it.id for it in closet.items if it.slot == "shoes"][:3]
    result = CliRunner().invoke(cli, ["recommend", "--closet", str(tiny_world), "--model",
                                      str(tiny_model), "--pin", dress, *sum(
                                          (["--exclude", s] for s in shoes), []),
                                      "--k", "4", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    recs = doc["recommendations"]
    assert len(recs) == 4 and doc["items"] == len(closet)
    for r in recs:
        assert dress in r["items"] and not set(shoes) & set(r["items"])
        assert 0.0 <= r["score"] <= 1.0
    assert [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)


def test_recommend_refuses_bad_input_in_one_line(tiny_world, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTFIT_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(cli, ["recommend", "--closet", str(tiny_world), "--model",
                                 str(tiny_model), "--pin", "no-such-item"])
    assert result.exit_code == 1
    assert "no-such-item" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["recommend", "--model", str(tiny_model)])
    assert result.exit_code == 1 and "--closet" in result.output


def test_an_option_the_strategy_does_not_take_is_refused_naming_those_it_does(
        tiny_world, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTFIT_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    args = ["recommend", "--closet", str(tiny_world), "--model", str(tiny_model), "--k", "2"]
    result = runner.invoke(cli, [*args, "--strategy", "exhaustive", "--beam", "4"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the exhaustive search strategy takes no option beam" in result.output
    assert "its options: max_outfits, pool, chunk" in result.output
    # The beam strategy takes it.
    result = runner.invoke(cli, [*args, "--strategy", "beam", "--beam", "4", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["recommendations"]) == 2
