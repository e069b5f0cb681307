"""The ``folovllm`` console script's M0 commands: version and model-info."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import folovllm
from folovllm.entrypoints.cli import build_parser, main
from tests.cli_checks import run_cli_fresh


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"folovllm {folovllm.__version__}"


def test_model_info_on_a_tiny_model(tiny_model_dirs, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-info", "--model", str(tiny_model_dirs["qwen3"]), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Qwen3ForCausalLM" in out and "KV cache / token: 1,024 bytes" in out


def test_bad_model_is_an_error_message_not_a_traceback(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-info", "--model", str(tmp_path / "missing")]) == 2
    assert "error: model=" in capsys.readouterr().err


def test_model_info_without_weights_says_so_like_generate(tiny_model_dirs, tmp_path: Path,
                                                          capsys) -> None:
    """One clear line, the message of our loader, and dummy weights still work."""
    shutil.copy(tiny_model_dirs["llama"] / "config.json", tmp_path / "config.json")
    argv = ["model-info", "--model", str(tmp_path), "--device", "cpu"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: model={str(tmp_path)!r} is invalid: no *.safetensors weights there (use "
        "load_format='dummy' for random weights)\n")
    assert main([*argv, "--load-format", "dummy"]) == 0
    assert "LlamaForCausalLM" in capsys.readouterr().out


def test_model_info_on_corrupt_weights_names_the_file(tiny_model_dirs, tmp_path: Path,
                                                      capsys) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    (d / "model.safetensors").write_bytes(b"garbage")
    assert main(["model-info", "--model", str(d), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: model={str(d)!r} is invalid: cannot read its model.safetensors (")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "version" in out and "model-info" in out


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"folovllm {folovllm.__version__}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_help_shows_every_default(command: str) -> None:
    sub = _subcommands()[command]
    text = " ".join(sub.format_help().split())  # undo the line wrapping
    options = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    assert text.count("(default:") == len(options), text
    for action in options:
        if action.default is not None:
            assert f"(default: {action.default})" in text, action.dest


def test_help_text_of_generate() -> None:
    text = " ".join(_subcommands()["generate"].format_help().split())
    assert "--max-tokens MAX_TOKENS most tokens to generate (default: 128)" in text
    assert "--temperature TEMPERATURE 0 means greedy decoding (default: 0.0)" in text


def test_help_and_version_import_neither_torch_nor_transformers() -> None:
    run = run_cli_fresh(["--help"])
    assert run.returncode == 0 and "generate" in run.out and run.heavy_imports == []
    run = run_cli_fresh(["--version"])
    assert run.returncode == 0 and run.out.strip() == f"folovllm {folovllm.__version__}"
    assert run.heavy_imports == []


def test_the_package_imports_llm_on_first_use() -> None:
    code = ("import sys, folovllm\nassert 'torch' not in sys.modules\n"
            "from folovllm import LLM, SamplingParams\nassert 'torch' in sys.modules\n"
            "assert LLM.__module__ == 'folovllm.entrypoints.llm' and 'LLM' in dir(folovllm)\n"
            "try:\n    folovllm.nothing\nexcept AttributeError as e:\n    print(e)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "module 'folovllm' has no attribute 'nothing'"
