"""The numbers the M3 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

import json
from statistics import fmean

import torch

from folovllm.config import ModelConfig
from tests.docs.docs_tools import REPO, run_program

GiB, MiB = 1 << 30, 1 << 20
QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"


def _qwen_bytes_per_token() -> int:
    return ModelConfig(model=str(REPO / QWEN3), dtype="bfloat16", device="cpu",
                       load_format="dummy").kv_cache_bytes_per_token()


def test_fragmentation() -> None:
    ns = run_program("docs/snippets/m3/learn_fragmentation.py").namespace
    final, per_token = ns["final"], _qwen_bytes_per_token()
    assert max(final) == 2043 and round(fmean(final), 1) == 1127.9
    assert max(p + n for p, n in zip(ns["prompt_lens"], ns["output_lens"])) == 2044
    assert 2048 * per_token == 224 * MiB
    assert round(100 * (1 - fmean(final) / 2048), 1) == 44.9
    assert max(ns["tails"]) == 15 and round(fmean(ns["tails"]), 2) == 7.25
    # The memory benchmark's slot and block counts follow from the budget and the shapes.
    result = json.loads((REPO / "docs/benchmarks/results/m3-memory.json").read_text())
    budget = result["kv_cache_bytes"]
    assert budget == 16 * GiB
    for case in result["cases"]:
        m2, m3 = case["rows"]
        assert m2["num_blocks"] == budget // (case["max_model_len"] * per_token)
        assert m3["num_blocks"] == budget // (16 * per_token) == 9362
    first = result["cases"][0]["rows"]
    assert round(first[1]["busy_running"] / first[0]["busy_running"], 2) == 2.41
    assert 9362 * 16 == 149_792 and round(ns["room"]) == 852
    assert round(2048 / ns["room"], 2) == 2.40


def test_block_table() -> None:
    ns = run_program("docs/snippets/m3/learn_block_table.py").namespace
    table, kv, slots, block = ns["table"], ns["kv"], ns["slots"], ns["BLOCK"]
    assert table == kv.get_block_ids(10) == [7, 2, 9]
    assert slots == [*range(112, 128), *range(32, 48), *range(144, 149)]
    for p in range(37):
        assert slots[p] == table[p // block] * block + p % block
    assert ns["md"].slot_mapping.tolist() == [149] and ns["ids"].tolist() == [500]
    assert ns["new_blocks"] == []  # the decode needed no new block
    assert 3 * block - 37 == 11  # slots 149..159 of block 9: held, empty before the decode
    # A sequence asks for a new block only when a token lands at position 48, 64, 80, ...
    assert kv.num_blocks_for(48) == 3 and kv.num_blocks_for(49) == 4
    assert kv.num_free_blocks() == 0
    per_token = _qwen_bytes_per_token()
    assert per_token == 114_688 and 16 * per_token == 1_835_008 and 16 * per_token / MiB == 1.75


def test_preemption() -> None:
    ns = run_program("docs/snippets/m3/learn_preemption.py").namespace
    by_step = {n: (kind, names, tokens, pre) for n, kind, names, tokens, pre, _ in ns["log"]}
    # Step 1 admits all three: 2 blocks each, the cache is full.
    assert by_step[1] == ("prefill", "ABC", 18, "")
    # Step 4: each needs a third block for position 8. A, the oldest, takes C's (C is the
    # newest); then B takes the second block C freed.
    assert by_step[4] == ("decode", "AB", 2, "C")
    # Step 8: A and B need a fourth block for position 12; none is free, B is now the newest.
    assert by_step[8] == ("decode", "A", 1, "B")
    # A alone runs to its 10th token. B then comes back first (preempted sequences go to the
    # head of the queue, in arrival order): a prefill of its 6 prompt tokens and the 7 it had
    # generated. C needs 3 blocks and only 2 are left, so C waits (admission stops at the
    # first misfit).
    assert by_step[10][1] == "A" and by_step[11] == ("prefill", "B", 13, "")
    # C comes back when there is room: its 6 prompt tokens and 3 outputs again.
    c_back = [n for n, (kind, names, *_) in by_step.items() if (kind, names) == ("prefill", "C")]
    assert c_back == [14] and by_step[14][2] == 9
    assert len(ns["log"]) == 20
    # Alone in an 8-token cache: positions 0..7 fit; the token sampled after position 7
    # never needs its own K/V; the sequence is capped, not preempted, and its blocks return.
    seq, kv = ns["seq"], ns["kv"]
    assert seq.data.get_output_len() == 3 and ns["reason"] == "length"
    assert kv.num_free_blocks() == 2 and ns["sched"].num_preemptions == 0
    # Recompute or swap, Qwen3-0.6B in bf16.
    assert ns["swap_bytes"] == 114_688_000 and round(ns["swap_bytes"] / 2**20, 1) == 109.4
    assert ns["embedding"] == 151_936 * 1024 and ns["matmul_params"] == 440_401_920
    assert round(ns["recompute_flops"] / 1e12, 2) == 1.00


def test_preemption_run_frees_every_block() -> None:
    """The first run: 2 preemptions, every block back at the end (printed on the page)."""
    out = run_program("docs/snippets/m3/learn_preemption.py").stdout
    assert "20 steps, 2 preemptions, all 6 blocks free at the end" in out


def test_sizing() -> None:
    ns = run_program("docs/snippets/m3/learn_sizing.py").namespace
    num_blocks, budget = ns["num_blocks"], ns["budget"]
    assert ns["bytes_per_block"] == 1_835_008
    assert ns["weights"] == 2 * 596_049_920 and round(ns["weights"] / GiB, 2) == 1.11
    assert int(ns["total"] * ns["utilization"]) == 72 * GiB
    assert round(budget / GiB, 2) == 67.89
    assert budget // ns["bytes_per_block"] == 39_725 and 39_725 * 16 == 635_600
    assert num_blocks(budget, 2048) == 256 * 128 == 32_768
    assert 32_768 * ns["bytes_per_block"] == 56 * GiB and 32_768 * 16 == 524_288
    assert num_blocks(budget, 40960) == 39_725
    assert ns["DEFAULT_CPU_KV_BYTES"] == 4 * GiB
    assert num_blocks(4 * GiB, 2048) == 2340 and 2340 * 16 == 37_440


def test_split_softmax() -> None:
    ns = run_program("docs/snippets/m3/learn_split_softmax.py").namespace
    split_bounds, one_split, merge = ns["split_bounds"], ns["one_split"], ns["merge"]
    assert split_bounds(300, 3) == [(0, 128), (128, 256), (256, 300)]
    assert split_bounds(100, 3) == [(0, 64), (64, 100), (128, 100)]  # the last one is empty
    for splits in (1, 2, 3, 5):
        parts = [one_split(a, b) for a, b in split_bounds(300, splits)]
        torch.testing.assert_close(merge(parts), ns["reference"], rtol=0, atol=1e-12)
    # An empty split weighs nothing in the merge.
    q, keys, values, log2e = ns["q"], ns["keys"], ns["values"], ns["LOG2E"]
    ref100 = torch.softmax(q @ keys[:100].T / log2e, -1) @ values[:100]
    short = merge([one_split(a, b) for a, b in split_bounds(100, 3)])
    torch.testing.assert_close(short, ref100, rtol=0, atol=1e-12)
    assert ns["kv"] == 2**30 and round(100 * ns["kv"] / ns["moved"], 1) == 99.8
    assert ns["flops"] / ns["kv"] == 16 // 8 == 2  # = GROUP FLOPs per byte
