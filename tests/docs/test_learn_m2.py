"""The numbers the M2 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from tests.docs.docs_tools import run_program
from tests.tiny_models import build_tiny_model

GiB, MiB = 1 << 30, 1 << 20


def _wasted(useful: int, computed: int) -> float:
    return round(100 * (1 - useful / computed), 1)


def test_padding_waste() -> None:
    ns = run_program("docs/snippets/m2/padding_waste.py").namespace
    nano = ns["waste"](*ns["workloads"]["nanovllm"])
    cpu = ns["waste"](*ns["workloads"]["cpu mixed"])
    assert (nano["prompt_useful"], nano["prompt_computed"]) == (144_831, 261_888)
    assert (nano["decode_useful"], nano["decode_computed"]) == (143_904, 261_888)
    assert (cpu["prompt_useful"], cpu["prompt_computed"]) == (4_614, 7_744)
    assert (cpu["decode_useful"], cpu["decode_computed"]) == (4_027, 7_712)
    assert _wasted(nano["prompt_useful"] + nano["decode_useful"],
                   nano["prompt_computed"] + nano["decode_computed"]) == 44.9
    assert _wasted(cpu["prompt_useful"] + cpu["decode_useful"],
                   cpu["prompt_computed"] + cpu["decode_computed"]) == 44.1
    # A request arriving one step late waits for the longest row: max(out) - 1 decode steps.
    assert [max(outs) - 1 for _, outs in ns["workloads"].values()] == [1023, 241]
    # Lengths uniform in [lo, hi]: the wasted share tends to (hi - lo) / (2 hi) = 45.1%.
    assert round(100 * (1024 - 100) / (2 * 1024), 1) == 45.1
    m1, m2 = ns["m1"], ns["m2"]
    assert len(m1) == len(m2) == 19 and sum(m1) == sum(m2) == 256
    assert (min(m1), max(m1)) == (7, 17)


def test_m1_static_batches_waste_42_percent() -> None:
    """Each of M1's 19 static batches still pads and runs to its own longest row."""
    ns = run_program("docs/snippets/m2/padding_waste.py").namespace
    prompts, outs = ns["workloads"]["nanovllm"]
    total, start = dict.fromkeys(ns["waste"](prompts, outs), 0), 0
    for size in ns["m1"]:
        for key, value in ns["waste"](prompts[start:start + size], outs[start:start + size]).items():
            total[key] += value
        start += size
    assert _wasted(total["prompt_useful"] + total["decode_useful"],
                   total["prompt_computed"] + total["decode_computed"]) == 42.0


def test_slot_waste() -> None:
    ns = run_program("docs/snippets/m2/slot_waste.py").namespace
    assert ns["per_token"] == 2 * 28 * 8 * 128 * 2 == 114_688
    assert max(ns["held"]) == 2043 <= 2048  # every sequence fits a 2048-token slot
    assert round(ns["mean_end"], 1) == 1127.9 and round(ns["mean_life"], 1) == 918.8
    slot_2k, slot_40k = 2048 * ns["per_token"], 40960 * ns["per_token"]
    assert slot_2k == 224 * MiB and 256 * slot_2k == 56 * GiB
    assert slot_40k / GiB == 4.375 and 256 * slot_40k == 1120 * GiB
    assert round(100 * ns["mean_end"] / 2048, 1) == 55.1
    assert round(100 * ns["mean_life"] / 2048, 1) == 44.9
    assert round(100 * (1 - ns["mean_end"] / 40960), 1) == 97.2
    assert round(100 * (1 - ns["mean_life"] / 40960), 1) == 97.8
    assert (64 * GiB // slot_2k, 64 * GiB // slot_40k) == (292, 14)
    paged = sum(math.ceil(n / 16) * 16 for n in ns["held"])
    assert round(100 * (1 - sum(ns["held"]) / paged), 2) == 0.64
    assert 64 * GiB // (paged / 256 * ns["per_token"]) == 527


def test_flat_batch_metadata() -> None:
    ns = run_program("docs/snippets/m2/flat_batch.py").namespace
    runner, md = ns["runner"], ns["md"]
    assert runner.bytes_per_block == 16 * 1024 and runner.num_blocks == 4
    k_cache = runner.model.model.layers[0].self_attn.attn.k_cache
    assert tuple(k_cache.shape) == (4, 16, 2, 32)  # [slots, max_model_len, KV heads, head dim]
    assert ns["last_rows"] == [3, 5, 8]
    # After both steps: slot 0 holds B (3 tokens), 1 C (4), 2 A (5); slot 3 was never touched
    # (the cache is allocated uninitialised and a slot is zeroed on its first use).
    written = k_cache.abs().sum(dim=(2, 3)) != 0
    assert written[:3].sum(dim=1).tolist() == [3, 4, 5]
    assert runner._zeroed.tolist() == [True, True, True, False]
    assert md.slot_mapping.tolist() == [2 * 16 + 4, 0 * 16 + 2, 1 * 16 + 3]
    assert md.max_seq_len == 5
    assert ns["prefill_logits"].shape == (3, 384)  # one row per sequence, not per token
    assert ns["decode_logits"].shape == (3, 384)


def test_flat_batch_logits_match_transformers(tmp_path: Path) -> None:
    """Both steps' logits equal transformers running each sequence alone, without a cache."""
    ns = run_program("docs/snippets/m2/flat_batch.py").namespace
    hf = AutoModelForCausalLM.from_pretrained(build_tiny_model("qwen3", tmp_path / "qwen3"),
                                              dtype=torch.float32).eval()

    def last_logits(token_lists: list[list[int]]) -> torch.Tensor:
        with torch.no_grad():
            return torch.stack([hf(torch.tensor([t])).logits[0, -1] for t in token_lists])

    prompts = ns["PROMPTS"]
    full = [p + t for p, t in zip(prompts, ns["sampled"])]  # what the decode step fed
    # the runner sampled greedily: each token is the argmax of its prefill logits
    assert [t for (t,) in ns["sampled"]] == ns["prefill_logits"].argmax(-1).tolist()
    torch.testing.assert_close(ns["prefill_logits"], last_logits(prompts), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ns["decode_logits"], last_logits(full), atol=1e-5, rtol=1e-5)


def test_static_and_continuous_timeline() -> None:
    ns = run_program("docs/snippets/m2/learn_timeline.py").namespace
    static, continuous = ns["static"], ns["continuous"]
    assert static["D"] == [8, 9, 10, 11]        # D waits for the whole first batch to drain
    assert continuous["D"] == [3, 4, 5, 6]      # D takes B's slot as soon as B is done
    assert continuous["A"] == [0, 1, 2, 4, 5, 6, 7, 8]  # step 3 was D's prefill: A paused
    assert continuous["C"] == [0, 1, 2, 4, 5]
    assert max(max(v) for v in static.values()) + 1 == 12
    assert max(max(v) for v in continuous.values()) + 1 == 9
    # Row-steps: the padded static batch computes 3 rows for 8 steps, then D alone for 4.
    assert 3 * 8 + 4 == 28 and sum(ns["WANTS"].values()) == 20


def test_lm_head_numbers() -> None:
    ns = run_program("docs/snippets/m2/learn_lm_head.py").namespace
    assert (ns["hidden"], ns["vocab"]) == (1024, 151936) and ns["lm_head"] == 155_582_464
    assert round(ns["flops"] / 1e12, 2) == 2.55 and round(ns["logits_bytes"] / 2**30, 2) == 2.32


def test_stacked_qkv() -> None:
    ns = run_program("docs/snippets/m2/learn_stacked.py").namespace
    assert ns["big"].offsets == {"q": (0, 2048), "k": (2048, 1024), "v": (3072, 1024)}
    assert tuple(ns["big"].weight.shape) == (4096, 1024)
    for part, w in zip(ns["parts"], ns["ws"].values()):
        torch.testing.assert_close(part, ns["x"] @ w.T)


def test_rmsnorm_and_rope() -> None:
    ns = run_program("docs/snippets/m2/learn_rmsnorm.py").namespace
    torch.testing.assert_close(ns["new_residual"], ns["h"])
    torch.testing.assert_close(ns["out"], ns["norm"](ns["h"]))
    torch.testing.assert_close(ns["out"], ns["h"] * ns["rms"] * ns["norm"].weight)
    ns = run_program("docs/snippets/m2/learn_rope.py").namespace
    assert ns["score"](7, 4) == ns["score"](3, 0) and ns["score"](20, 20) == ns["score"](0, 0)
    assert (ns["kept"], ns["divided"]) == (29, 29)
