"""The `outfit` command, run as a user runs it (the installed console script)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from outfit_cli import cli

OUTFIT = Path(sys.executable).with_name("outfit")


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_lists_the_commands():
    out = subprocess.run([str(OUTFIT), "--help"], capture_output=True, text=True, check=True)
    for command in ("synth", "info", "demo"):
        assert f"  {command}" in out.stdout


def test_synth_then_info_round_trip(tmp_path):
    world = tmp_path / "world"
    made = run("synth", "--out", str(world), "--outfits", "40", "--seed", "3",
               "--image-size", "48", "--json")
    assert made.exit_code == 0, made.output
    summary = json.loads(made.output.strip().splitlines()[-1])
    for split in ("train", "valid", "test"):
        got = run("info", str(world), "--split", split, "--json")
        assert got.exit_code == 0, got.output
        counts = json.loads(got.output)
        assert counts["format"] == "polyvore"
        assert counts["outfits"] == summary["outfits"][split]
        assert counts["compatibility"] == summary["compatibility"][split]
        assert counts["fitb"] == summary["fitb"][split]


def test_bad_input_is_one_clear_line_not_a_traceback(tmp_path):
    root = tmp_path / "ds"
    (root / "nondisjoint").mkdir(parents=True)
    (root / "polyvore_item_metadata.json").write_text("{}")
    (root / "categories.csv").write_text("1,shirt,tops\n")
    (root / "nondisjoint" / "train.json").write_text("[{\"set_id\": 1}]")
    out = subprocess.run([str(OUTFIT), "info", str(root)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "train.json" in out.stderr and "outfit #0 lacks 'items'" in out.stderr


@pytest.mark.shared_data
def test_info_on_clothing_small(shared_data):
    got = run("info", str(shared_data / "clothing-small"), "--json")
    assert got.exit_code == 0, got.output
    counts = json.loads(got.output)
    assert counts["format"] == "folder" and counts["items"] == 3781


def test_runs_without_a_home_folder_being_written_elsewhere(tmp_path):
    # `outfit info` reads only: it must not create the instance folder.
    env = {**os.environ, "OUTFIT_HOME": str(tmp_path / "never")}
    shutil.rmtree(tmp_path / "never", ignore_errors=True)
    subprocess.run([str(OUTFIT), "info", str(tmp_path), "--format", "folder", "--json"],
                   capture_output=True, text=True, env=env)
    assert not (tmp_path / "never").exists()


def test_train_command_defaults_match_the_training_config():
    """The command line must not train a different model than TrainConfig describes."""
    import dataclasses

    from grader.training import TrainConfig

    params = {p.name: p.default for p in cli.commands["train"].params}
    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    shared = {"arch", "backbone", "weights", "epochs", "feature_epochs", "image_size",
              "batch_size", "patience", "device", "seed", "version"}
    assert {k: params[k] for k in shared} == {k: fields[k] for k in shared}
