"""Where each setting of a training run comes from: the flags given, the run being resumed, the recipe."""
import pytest

from gptlab.cli import DEFAULT_RECIPE
from gptlab.recipes import RECIPES
from gptlab.run_settings import BASE, SettingsError, resolve


def test_a_new_run_is_the_recipe_with_the_flags_given_on_top():
    s = resolve({"lr": 1e-3, "n_layer": 2, "resume": True, "device": "cpu", "seed": None}, DEFAULT_RECIPE)
    assert s["lr"] == 1e-3 and s["n_layer"] == 2
    assert s["n_head"] == DEFAULT_RECIPE["n_head"] and s["val_fraction"] == BASE["val_fraction"]
    assert s["seed"] == DEFAULT_RECIPE["seed"]  # None means "not given", not "set to None"
    assert "resume" not in s and "device" not in s  # options of the command, not settings of the run


def test_a_preset_replaces_the_recipes_sizes_but_not_the_sizes_given():
    s = resolve({"preset": "mini", "n_layer": 3}, DEFAULT_RECIPE)
    assert s["preset"] == "mini" and s["n_layer"] == 3
    assert "n_head" not in s and "n_embd" not in s


def test_a_named_recipe_and_paths_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = resolve({"data": "shards", "recipe": "gpt2-124m", "hellaswag": "h.jsonl"}, RECIPES["gpt2-124m"])
    assert s["data"] == str(tmp_path / "shards") and s["hellaswag"] == str(tmp_path / "h.jsonl")
    assert s["recipe"] == "gpt2-124m" and s["beta2"] == 0.95
    assert resolve({}, DEFAULT_RECIPE)["data"] == "shakespeare"


def test_resuming_keeps_the_record_unless_a_changeable_setting_is_given():
    recorded = resolve({"val_fraction": 0.2}, DEFAULT_RECIPE)
    s = resolve({"max_iters": 9000, "lr": 1e-4}, {}, recorded=recorded)
    assert s["val_fraction"] == 0.2  # never the default's 0.1
    assert s["max_iters"] == 9000 and s["lr"] == 1e-4 and s["n_embd"] == recorded["n_embd"]


@pytest.mark.parametrize("given, named", [
    ({"val_fraction": 0.1}, "--val-fraction 0.1 (the run has 0.2)"),
    ({"n_embd": 32}, "--n-embd 32"),
    ({"weight_decay": 0.5}, "--weight-decay 0.5"),
    ({"data": "elsewhere.txt"}, "--data"),
])
def test_resuming_with_a_different_run_is_refused_by_name(given, named):
    recorded = resolve({"val_fraction": 0.2}, DEFAULT_RECIPE)
    with pytest.raises(SettingsError, match="different run") as e:
        resolve(given, {}, recorded=recorded)
    assert named in str(e.value) and "--max-iters" in str(e.value)  # and says what may change


def test_an_old_record_without_a_setting_reads_it_from_the_base():
    recorded = {k: v for k, v in resolve({}, DEFAULT_RECIPE).items() if k != "val_fraction"}
    assert resolve({}, {}, recorded=recorded)["val_fraction"] == 0.1
    assert resolve({"val_fraction": 0.1}, {}, recorded=recorded)["val_fraction"] == 0.1


def test_the_fused_loss_is_on_by_default_and_may_change_on_resume():
    recorded = resolve({"fused_loss": False}, DEFAULT_RECIPE)
    assert recorded["fused_loss"] is False and resolve({}, DEFAULT_RECIPE)["fused_loss"] is True
    assert resolve({}, {}, recorded=recorded)["fused_loss"] is False  # the record, not the default
    assert resolve({"fused_loss": True}, {}, recorded=recorded)["fused_loss"] is True  # the same numbers either way
    older = {k: v for k, v in recorded.items() if k != "fused_loss"}
    assert resolve({}, {}, recorded=older)["fused_loss"] is True


def test_a_run_recorded_with_the_older_block_size_name_resumes_as_seq_len():
    recorded = {k: v for k, v in resolve({}, DEFAULT_RECIPE).items() if k != "seq_len"}
    recorded["block_size"] = 48  # the training sequence length's older name
    s = resolve({"seq_len": 48, "max_iters": 10}, {}, recorded=recorded)
    assert s["seq_len"] == 48 and "block_size" not in s
    with pytest.raises(SettingsError, match="--seq-len 64 \\(the run has 48\\)"):
        resolve({"seq_len": 64}, {}, recorded=recorded)


def test_the_sequence_length_flag_keeps_its_older_name():
    from gptlab.cli import _parser

    args = _parser().parse_args(["train", "--block-size", "32"])
    assert args.seq_len == 32
