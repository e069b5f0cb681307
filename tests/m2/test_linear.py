"""The matmul every projection calls: oneDNN for float32 on the CPU, ``F.linear`` otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from benchmarks import gemm
from folovllm.config import ModelConfig
from folovllm.model_executor.layers.linear import (
    HAS_ONEDNN,
    ONEDNN_LINEAR,
    Linear,
    linear,
    onednn_linear,
    use_onednn,
)

needs_onednn = pytest.mark.skipif(not HAS_ONEDNN, reason="needs a PyTorch build with oneDNN")


@pytest.mark.skipif(not ONEDNN_LINEAR, reason="needs an x86-64 CPU (oneDNN linear is used there only)")
def test_float32_on_cpu_goes_to_onednn_and_nothing_else_does() -> None:
    x, w = torch.randn(3, 8), torch.randn(5, 8)
    assert use_onednn(x, w)
    assert not use_onednn(x.bfloat16(), w.bfloat16())
    assert not use_onednn(x.double(), w.double())
    assert not use_onednn(x.to("meta"), w.to("meta"))


@needs_onednn
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_onednn_matches_f_linear(rows: int, bias: bool) -> None:
    """Same maths, another summation order: equal to float32 rounding, not bit for bit."""
    gen = torch.Generator().manual_seed(rows)
    w, b = torch.randn(96, 576, generator=gen), torch.randn(96, generator=gen)
    x = torch.randn(rows, 2 * 576, generator=gen)[:, ::2]        # a strided input, too
    out = onednn_linear(x, w, b if bias else None)
    torch.testing.assert_close(out, F.linear(x, w, b if bias else None), rtol=1e-5, atol=1e-4)
    if ONEDNN_LINEAR:                                             # the layers call exactly this
        assert torch.equal(linear(x, w, b if bias else None), out)
    assert out.shape == (rows, 96)


def test_other_dtypes_are_exactly_f_linear() -> None:
    x, w, b = torch.randn(4, 16), torch.randn(8, 16), torch.randn(8)
    for dtype in (torch.float64, torch.bfloat16):
        args = (x.to(dtype), w.to(dtype), b.to(dtype))
        assert torch.equal(linear(*args), F.linear(*args))


def test_linear_layer_keeps_nn_linear_parameters() -> None:
    """Checkpoint names and the tied LM head rely on ``weight``/``bias`` as in ``nn.Linear``."""
    layer, ref = Linear(16, 8, bias=True), torch.nn.Linear(16, 8, bias=True)
    assert layer.state_dict().keys() == ref.state_dict().keys()
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(2, 16)
    torch.testing.assert_close(layer(x), ref(x), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_gemm_benchmark_runs_and_renders(tiny_model_dirs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "gemm.json"
    gemm.main(["--model", str(tiny_model_dirs["llama"]), "--rows", "1,4", "--repeats", "1",
               "--output-json", str(out)])
    result = json.loads(out.read_text())
    config = ModelConfig(model=str(tiny_model_dirs["llama"]), device="cpu", load_format="dummy")
    per_layer = sum(o * i for o, i in gemm.layer_shapes(config))
    assert result["weight_bytes"] == 4 * (config.num_layers * per_layer
                                          + config.vocab_size * config.hf_config.hidden_size)
    assert [r["rows"] for r in result["rows"]] == [1, 4]
    assert "| 4 |" in gemm.format_table(result)


def test_gemm_benchmark_rejects_bad_rows() -> None:
    with pytest.raises(SystemExit):
        gemm.main(["--rows", "a,b"])
    with pytest.raises(SystemExit):
        gemm.main(["--rows", "0"])
