"""The numbers the M0 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from folovllm.config import ModelConfig
from tests.docs.docs_tools import run_program

GiB, MiB, KiB = 1 << 30, 1 << 20, 1 << 10


def test_kv_bytes() -> None:
    ns = run_program("docs/snippets/m0/kv_bytes.py").namespace
    smol, qwen, kv_bytes = ns["smol"], ns["qwen"], ns["kv_bytes"]
    assert (smol.num_layers, smol.num_kv_heads, smol.head_dim) == (30, 3, 64)
    assert smol.num_attention_heads // smol.num_kv_heads == 3  # GQA: 3 query heads per KV head
    assert smol.checkpoint_dtype == torch.bfloat16 and smol.torch_dtype == torch.float32
    assert smol.max_model_len == 8192
    assert (qwen.num_layers, qwen.num_kv_heads, qwen.head_dim) == (28, 8, 128)
    assert qwen.checkpoint_dtype == torch.bfloat16 and qwen.max_model_len == 40960
    # The page's formula is the engine's.
    assert kv_bytes(smol, 2) == smol.kv_cache_bytes_per_token(torch.bfloat16)
    assert kv_bytes(smol, 4) == smol.kv_cache_bytes_per_token()  # auto = fp32 on CPU
    assert kv_bytes(qwen, 2) == qwen.kv_cache_bytes_per_token()

    smol_bf16 = kv_bytes(smol, 2)
    assert smol_bf16 == 23_040 and smol_bf16 / KiB == 22.5
    assert 4096 * smol_bf16 == 90 * MiB and 8192 * smol_bf16 == 180 * MiB
    assert GiB // smol_bf16 == 46_603
    smol_fp32 = kv_bytes(smol, 4)
    assert smol_fp32 == 46_080 and smol_fp32 / KiB == 45
    assert 4096 * smol_fp32 == 180 * MiB and 8192 * smol_fp32 == 360 * MiB
    assert GiB // smol_fp32 == 23_301
    q = kv_bytes(qwen, 2)
    assert q == 114_688 and q / KiB == 112
    assert 4096 * q == 448 * MiB and GiB // q == 9_362
    assert 40960 * q == 4480 * MiB and 40960 * q / GiB == 4.375
    # In 16-token blocks (CacheConfig's default block_size, used from M3 on).
    assert 16 * q == 1_835_008 and 16 * q / MiB == 1.75
    assert GiB // (16 * q) == 585 and 585 * 16 == 9_360


def test_gqa_halves_qwen3_cache() -> None:
    """With one KV head per query head (plain multi-head attention) the cache doubles."""
    ns = run_program("docs/snippets/m0/kv_bytes.py").namespace
    config = json.loads((Path(ns["QWEN3"]) / "config.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps({**config, "num_key_value_heads": 16}))
        mha = ModelConfig(model=tmp, dtype="bfloat16", device="cpu")
    assert mha.kv_cache_bytes_per_token() == 229_376 == 2 * ns["kv_bytes"](ns["qwen"], 2)


def _probs(logits: torch.Tensor) -> list[float]:
    return [round(x, 4) for x in logits.softmax(-1).tolist()]


def test_sampling_math() -> None:
    ns = run_program("docs/snippets/m0/sampling_math.py").namespace
    logits, neg_inf = ns["logits"], float("-inf")
    top_k, top_p, min_p = ns["top_k"], ns["top_p"], ns["min_p"]
    assert ns["rep"].tolist() == [1.0, 1.0, -2.0, 0.25, 0.0]   # 2/2, -, -1*2, 0.5/2, -
    assert ns["pen"].tolist() == [1.0, 1.0, -2.75, -1.0, 0.0]  # token 0 only in the prompt
    assert _probs(logits / 0.5) == [0.5614, 0.3158, 0.0789, 0.0351, 0.0088]  # ~ p**2
    assert _probs(logits / 2.0) == [0.3001, 0.2599, 0.1838, 0.1501, 0.1061]  # ~ sqrt(p)
    assert _probs(top_k(logits, 2)) == [0.5714, 0.4286, 0.0, 0.0, 0.0]
    # running mass 0.40, 0.70, 0.85, 0.95: the token that crosses 0.9 stays
    assert _probs(top_p(logits, 0.9)) == [0.4211, 0.3158, 0.1579, 0.1053, 0.0]
    assert _probs(top_p(logits, 0.5)) == [0.5714, 0.4286, 0.0, 0.0, 0.0]
    assert _probs(min_p(logits, 0.3)) == [0.4706, 0.3529, 0.1765, 0.0, 0.0]
    # min-p compares with the top token, so renormalising first changes nothing
    after_k = top_k(logits, 4)
    assert torch.equal(min_p(after_k, 0.3) == neg_inf, min_p(logits, 0.3) == neg_inf)
    assert _probs(ns["chain"]) == [0.5714, 0.4286, 0.0, 0.0, 0.0]
    assert set(ns["draws"].tolist()) <= {0, 1}  # masked tokens have probability 0


def test_sampling_math_matches_the_engine_sampler() -> None:
    """The page's plain functions keep the same tokens as the engine's batched truncation."""
    from folovllm import SamplingParams
    from folovllm.model_executor.layers.sampler import SamplingMetadata, apply_truncation

    ns = run_program("docs/snippets/m0/sampling_math.py").namespace
    logits = ns["logits"].float().unsqueeze(0)
    for params, mine in ((SamplingParams(top_k=2), ns["top_k"](ns["logits"], 2)),
                         (SamplingParams(top_p=0.9), ns["top_p"](ns["logits"], 0.9)),
                         (SamplingParams(min_p=0.3), ns["min_p"](ns["logits"], 0.3))):
        md = SamplingMetadata.build([params], [0], [None], vocab_size=5, device="cpu")
        engine = apply_truncation(logits.clone(), md)[0]
        assert torch.equal(torch.isfinite(engine), torch.isfinite(mine))


def test_state_diagram_is_the_code() -> None:
    """The state machine drawn on the M0 notes (both languages) is LEGAL_TRANSITIONS."""
    import re

    from folovllm.sequence import LEGAL_TRANSITIONS
    from tests.docs.docs_tools import DOCS

    coded = {(a.name, b.name) for a, targets in LEGAL_TRANSITIONS.items() for b in targets}
    for name in ("learn.md", "learn.zh.md"):
        page = (DOCS / "milestones" / "m0" / name).read_text(encoding="utf-8")
        diagram = page.split("stateDiagram-v2", 1)[1].split("`" * 3, 1)[0]
        drawn = set(re.findall(r"^\s*(\w+) --> (\w+)\s*$", diagram, re.M))
        assert drawn == coded, (name, drawn ^ coded)


def test_learn_programs() -> None:
    """The M0 notes' small programs: the rules they print hold."""
    from folovllm import SamplingParams
    from folovllm.sampling_params import SamplingType

    ns = run_program("docs/snippets/m0/learn_config_rules.py").namespace
    assert (ns["m"].max_model_len, ns["cfg"].scheduler_config.max_num_batched_tokens) == (8192, 8192)
    assert ns["s"].enable_chunked_prefill  # the default since M5: budget 8192
    assert (ns["m"].num_attention_heads, ns["m"].num_kv_heads) == (9, 3)
    assert run_program("docs/snippets/m0/learn_config_rules.py").stdout.count("is invalid") == 3
    g = run_program("docs/snippets/m0/learn_params.py").namespace["greedy"]
    assert (g.top_p, g.top_k, g.min_p) == (1.0, 0, 0.0) and g.sampling_type is SamplingType.GREEDY
    assert SamplingParams(temperature=0.8, seed=7).sampling_type is SamplingType.RANDOM_SEED
    assert run_program("docs/snippets/m0/learn_params.py").stdout.count("is invalid") == 4
    seq = run_program("docs/snippets/m0/learn_sequence.py").namespace["seq"]
    assert seq.data.get_len() - seq.data.num_computed_tokens == 4 and seq.is_finished()
    assert "did you mean 'max_model_len'?" in run_program("docs/snippets/m0/learn_unknown_key.py").stdout
    m = run_program("docs/snippets/m0/learn_dtype.py").namespace["m"]
    assert (m.checkpoint_dtype, m.torch_dtype) == (torch.bfloat16, torch.float32)
    assert SamplingParams(stop=["###", "\nUser:"]).output_text_buffer_length == len("\nUser:") - 1


def test_loading_real_and_dummy() -> None:
    ns = run_program("docs/snippets/m0/learn_loading.py").namespace
    real_sd, dummy_sd = ns["real_sd"], ns["dummy_sd"]
    assert real_sd.keys() == dummy_sd.keys()
    assert all(real_sd[k].shape == dummy_sd[k].shape for k in real_sd)
    assert not torch.equal(real_sd[ns["w"]], dummy_sd[ns["w"]])
    assert sum(p.numel() for p in ns["real"].parameters()) == 134_515_008
