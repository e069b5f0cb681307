"""The numbers the M7 learning notes quote, checked on the programs the page shows, on the
shipped Qwen3-0.6B config, on the default model's config and on the M7 example's tiny model."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from folovllm.model_executor.layers.vocab_parallel_embedding import VocabParallelEmbedding
from tests.docs.docs_tools import DOCS, REPO, RESULTS, run_program

_PAGES = [DOCS / "milestones/m7" / name for name in ("learn.md", "learn.zh.md")]
_QWEN3 = REPO / "folovllm/benchmarks/configs/qwen3-0.6b/config.json"


def _ring_bytes_per_rank(n: int, data: float) -> float:
    """A ring all-reduce: a reduce-scatter then an all-gather, each sending (n-1)/n of the data."""
    return 2 * (n - 1) / n * data


def test_column_then_row_is_the_dense_mlp() -> None:
    out = run_program("docs/snippets/m7/learn_column_row.py").stdout
    assert "sum of partials == dense: True" in out
    assert "silu(a + b) == silu(a) + silu(b): False" in out


def test_the_shards_follow_the_default_models_shape(default_model_dir: Path) -> None:
    """The program spells SmolLM2-135M's shape out; it must be the default model's."""
    cfg = json.loads((default_model_dir / "config.json").read_text())
    heads, kv, dim = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    assert (cfg["hidden_size"], heads, kv, dim, cfg["intermediate_size"], cfg["vocab_size"]) \
        == (576, 9, 3, 64, 1536, 49152)
    out = run_program("docs/snippets/m7/learn_shards.py").stdout
    rows = (heads // 3 + 2 * (kv // 3)) * dim
    assert rows == 320 and f"qkv ({rows}, 576), gate_up (1024, 576), down (576, 512)" in out
    comm = run_program("docs/snippets/m7/learn_comm.py").namespace
    assert comm["MODELS"]["SmolLM2-135M"][:3] == (cfg["num_hidden_layers"], cfg["hidden_size"],
                                                  cfg["vocab_size"])


def test_the_tiny_qwen3_is_the_examples_model() -> None:
    """The page's tiny Qwen3 (one KV head, 383 entries, 2 x 192 rows) is the example's."""
    config = runpy.run_path(str(REPO / "examples/m7_tensor_parallel.py"))["CONFIG"]
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (4, 1)
    assert config["vocab_size"] == 383
    emb = VocabParallelEmbedding(config["vocab_size"], config["hidden_size"])
    assert emb.weight.shape[0] == 383   # one process: no padding
    out = run_program("docs/snippets/m7/learn_shards.py").stdout
    assert "rank 1: q heads 2, KV head 0 of 1, vocab rows 192-382 (+1 padding)" in out


def test_the_communication_arithmetic() -> None:
    cfg = json.loads(_QWEN3.read_text())
    layers, hidden = cfg["num_hidden_layers"], cfg["hidden_size"]
    per_token = (2 * layers + 1) * hidden * 2
    out = run_program("docs/snippets/m7/learn_comm.py").stdout
    assert f"Qwen3-0.6B: {2 * layers + 1} all-reduces per step, " \
           f"{per_token / 1024:.1f} KiB all-reduced per token" in out
    for n in (2, 4, 8):
        sent = _ring_bytes_per_rank(n, per_token)
        assert f"TP={n}: each rank sends {sent / 1024:.1f} KiB per token, " \
               f"{sent * 256 / 2**20:.1f} MiB per step of 256" in out
    step = _ring_bytes_per_rank(8, per_token) * 256
    assert f"NVLink 4 (H100/H200): {step / 450e9 * 1e6:.0f} us" in out
    assert f"PCIe 4.0 x16: {step / 32e9 * 1e6:.0f} us" in out
    assert f"{hidden * 2 * 256 / 2**20:.2f} MiB sent once" in out


def _quoted() -> list[str]:
    """Every figure the pages quote in their prose, formatted from the programs' inputs."""
    cfg = json.loads(_QWEN3.read_text())
    layers, hidden = cfg["num_hidden_layers"], cfg["hidden_size"]
    per_token = (2 * layers + 1) * hidden * 2
    step = _ring_bytes_per_rank(8, per_token) * 256
    return [f"{2 * layers + 1} all-reduces", f"{step / 450e9 * 1e6:.0f} us",
            f"{step / 32e9 * 1e6:.0f} us",
            f"{_ring_bytes_per_rank(2, per_token) * 256 / 2**20:.1f} MiB",
            f"{hidden * 2 * 256 / 2**20:.2f} MiB", "`(3 + 2 x 1) x 64 = 320`",
            "`2 x 1536 / 3 = 1024`", "`1536 / 3 = 512`", "383", "2 x 192",
            "`num_kv_head_replicas = tp // num_kv_heads = 2`"]


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: p.name)
def test_every_quoted_number_comes_from_the_programs(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = [n for n in _quoted() if n not in text]
    assert not missing, f"{page.name} lacks {missing}"


def test_the_transport_figures_come_from_the_results_file() -> None:
    """The "Pipes" bullet quotes the transport benchmark: the two messages' sizes and the
    two-rank decode step by each transport; and the pipe is as fast as shared memory (within
    5%) and faster than ``broadcast_object_list``, as the bullet says."""
    result = json.loads((RESULTS / "m7-cpu-transport.json").read_text())
    us = {r["transport"]: r["median_us"] for r in result["rows"]
          if (r["world_size"], r["step"]) == (2, "decode")}
    pipe, shm, broadcast = us["pipe"], us["shared memory"], us["broadcast_object_list"]
    assert abs(pipe - shm) / min(pipe, shm) < 0.05 and pipe < broadcast
    quoted = [f"{s['bytes']:,}" for s in result["steps"]]
    quoted += [f"{t:.0f} µs" for t in (pipe, shm, broadcast)]
    for page in _PAGES:
        missing = [q for q in quoted if q not in page.read_text(encoding="utf-8")]
        assert not missing, f"{page.name} lacks {missing}"
