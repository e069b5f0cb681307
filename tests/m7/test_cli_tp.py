"""``--tensor-parallel-size`` on the command line: checked before torch is imported, listed in
the help with its default, and recorded in the benchmark's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from folovllm.benchmarks.throughput import format_table
from folovllm.entrypoints.cli import main
from tests.cli_checks import command_help, run_cli_fresh

_TINY_CONFIG = Path(__file__).resolve().parents[2] / "folovllm/benchmarks/configs/tiny-llama"


@pytest.mark.parametrize("argv", [
    ["generate", "hi", "--tensor-parallel-size", "0"],
    ["chat", "--tensor-parallel-size", "0"],
    ["bench", "--tensor-parallel-size", "0"],
])
def test_a_bad_size_fails_before_torch_is_imported(argv) -> None:
    """The same one-line message as ``LLM(tensor_parallel_size=0)``, in a fraction of a second."""
    run = run_cli_fresh(argv)
    assert run.returncode == 2 and run.out == ""
    assert run.err == "error: tensor_parallel_size=0 is invalid: must be in [1, inf]", run.err
    assert run.heavy_imports == []


@pytest.mark.parametrize("command", ["generate", "chat", "bench"])
def test_help_lists_the_flag_with_its_default(command, capsys) -> None:
    help_text = command_help(command, capsys)
    assert "--tensor-parallel-size TENSOR_PARALLEL_SIZE ranks" in help_text
    assert "split every layer (default: 1)" in help_text


def test_a_size_the_model_cannot_split_is_refused_with_both_numbers(capsys) -> None:
    """The tiny model has 4 query heads: 3 ranks cannot split them; no process starts."""
    assert main(["bench", "--model", str(_TINY_CONFIG), "--load-format", "dummy",
                 "--device", "cpu", "--engines", "folovllm",
                 "--tensor-parallel-size", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: tensor_parallel_size=3 is invalid: num_attention_heads=4 ")


def test_bench_runs_at_the_size_asked_and_records_it(tmp_path, capsys) -> None:
    path = tmp_path / "tp2.json"
    assert main(["bench", "--model", str(_TINY_CONFIG), "--load-format", "dummy",
                 "--device", "cpu", "--num-prompts", "2", "--input-len", "8",
                 "--output-len", "4", "--repeats", "1", "--engines", "folovllm",
                 "--tensor-parallel-size", "2", "--output-json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert result["tensor_parallel_size"] == 2
    (run,) = result["results"]
    assert run["output_tokens"] == 8
    assert "device `cpu`, tensor parallel size 2," in format_table(result)
    assert format_table(result) in capsys.readouterr().out
