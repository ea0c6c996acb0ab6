"""``hwsim llm`` as a user runs it: a config.json in, the report out; bad input one error line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from hwsim.cli import main
from hwsim.llm import LLM_SCHEMA

TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 64}


def _config(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(TINY))
    return folder / "config.json"


def test_llm_report_json_plot_and_determinism(hwsim, tmp_path: Path) -> None:
    config = _config(tmp_path)
    args = ["llm", str(config.parent), "--preset", "tpu-v1-like", "--prompt", "6", "--generate", "3", "--batch", "2",
            "--kv-bits", "8", "--dram-gib", "0.0001"]
    r = hwsim(*args, "--json", "-")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    jsonschema.validate(report, LLM_SCHEMA)
    assert (report["model"], report["prompt"], report["generate"], report["batch"]) == ("tiny-llama", 6, 3, 2)
    # 2 layers x 2 KV heads x 16 x 2 (K, V) x 1 byte = 128 bytes per token; 9 tokens x 2 sequences.
    assert report["kv_cache_bytes"] == 128 * 9 * 2
    # 0.0001 GiB = 107,374 bytes; the weights are 86,848 bytes (80,448 with a tied head, LLaMA's default
    # is an untied one: + 100 x 64) and leave room for 20,526 // (128 x 9) = 17 sequences.
    assert report["weight_bytes"] == 86_848
    assert report["memory"]["max_batch"] == 17 and report["fits"] is True
    # Whole bytes, as every other report states the capacity (0.0001 x 2^30 = 107,374.18).
    assert report["memory"]["dram_bytes"] == 107_374
    assert len(report["positions"]) == 3 and [p["context"] for p in report["positions"]] == [7, 8, 9]
    png = tmp_path / "serving.png"
    r1 = hwsim(*args, "--json", str(tmp_path / "a.json"), "--plot", str(png))
    assert r1.code == 0, r1.err
    assert "time to first token" in r1.out and "time per output token" in r1.out
    assert png.read_bytes().startswith(b"\x89PNG")
    first = png.read_bytes()
    r2 = hwsim(*args, "--json", str(tmp_path / "b.json"), "--plot", str(png))
    assert r2.code == 0 and png.read_bytes() == first
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text() == r.out


def test_llm_bad_input_is_one_line_and_no_file(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path)
    out = tmp_path / "report.json"
    cases = [
        (["llm", str(tmp_path / "missing.json")], "no such file"),
        (["llm", "llama-9000"], "not a model hwsim knows by name"),
        (["llm", str(config), "--prompt", "60", "--generate", "10"], "exceed the model's 64 positions"),
        (["llm", str(config), "--kv-bits", "3"], "invalid choice"),
        (["llm", str(config), "--batch", "0"], "expected a positive integer"),
        (["llm", str(config), "--plot", str(tmp_path / "x.gif")], "not an image format"),
        (["llm", str(config), "--json", str(tmp_path)], "is a folder"),
        (["llm", str(tmp_path)], "without config.json"),
    ]
    for args, message in cases:
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("error: ") and message in err, (args, err)
    assert main(["llm", str(config), "--prompt", "60", "--generate", "10", "--json", str(out)]) == 2
    assert not out.exists()
