"""The ``folovllm`` console script's M0 commands: version and model-info."""

from __future__ import annotations

from pathlib import Path

import pytest

import folovllm
from folovllm.entrypoints.cli import main


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


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "version" in out and "model-info" in out
