"""The claims the M3 interview answers rely on, checked on the programs the page shows.

The kernel programs and the sections of the longer block and engine files only compute and
print; their globals carry the values these tests check.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from folovllm.sequence import SequenceStatus
from tests.docs.docs_tools import REPO, run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m3/interview_{name}.py").namespace


def test_roofline() -> None:
    ns = _ns("roofline")
    kv_bytes, step_bytes = ns["kv_bytes"], ns["step_bytes"]
    assert kv_bytes == 2**30 and step_bytes == 1_075_905_536     # 1 GiB of K/V per layer
    assert kv_bytes / step_bytes > 0.99                          # queries, outputs, tables: < 1%
    assert round(ns["intensity"], 2) == 2.0   # = H / Hk: each K/V element serves 2 query heads
    ridge = ns["ridge"]
    assert int(ridge) == 295 and ridge / ns["intensity"] > 140   # ~150x below the ridge point
    assert ns["weight_intensity"] == ns["B"] and ns["weight_intensity"] < ridge
    assert round(ns["LAYERS"] * kv_bytes / (ns["PARAMS"] * 2)) == 25
    kernel = ns["kernel"]
    assert kernel["shapes"]["batch"] == ns["B"] and kernel["decode_bytes"] == step_bytes
    assert round(kernel["fraction"], 1) == 1.0


def test_gqa_packing() -> None:
    ns = _ns("gqa_packing")
    torch.testing.assert_close(ns["packed"], ns["per_head"])
    torch.testing.assert_close(ns["padded"], ns["packed"])
    kv_bytes = 2 * ns["B"] * ns["L"] * ns["Hk"] * ns["D"] * 2
    assert ns["per_kv_head"] == kv_bytes == 2**30 and ns["per_query_head"] == 2 * kv_bytes
    assert ns["executed"] == 16 and ns["executed"] < ns["ridge"]


def test_split_k() -> None:
    ns = _ns("split_k")
    torch.testing.assert_close(ns["merged"], ns["full"], rtol=1e-12, atol=1e-12)
    assert ns["w"][-1] == 0                                   # the empty split counts for nothing
    k, q, scale = ns["k"], ns["q"], ns["scale"]
    torch.testing.assert_close(ns["merged_lse"], torch.logsumexp(k @ q * scale, 0))


def test_prefill_bound() -> None:
    ns = _ns("prefill_bound")
    ridge, T = ns["ridge"], ns["T"]
    assert ns["weights"] == T > ridge
    assert round(ns["attn_flops"] / ns["attn_bytes"]) == 683
    assert ns["attn_flops"] / ns["attn_bytes"] > ridge
    assert round(ns["decode"], 1) == 2.0


def test_gather() -> None:
    ns = _ns("gather")
    out = ns["out"]
    for i, ref in enumerate(ns["refs"]):
        torch.testing.assert_close(out[i], ref)
    assert len(ns["refs"]) == 4
    assert (ns["copied"], sum(ns["seq_lens"])) == (4032, 1030)
    torch.testing.assert_close(ns["stale"], out)      # the mask hides stale values ...
    assert ns["nan_out"][1].isnan().all()              # ... but not a NaN


_TRITON = importlib.util.find_spec("triton") is not None


@pytest.mark.skipif(not _TRITON, reason="triton is not installed")
def test_splits() -> None:
    ns = _ns("splits")
    ta = ns["ta"]
    assert ta.DECODE_CONFIG.block_n == 64                 # keys per tile, decode
    assert (ta.PREFILL_CONFIG.block_m, ta.PREFILL_CONFIG.block_n) == (64, 64)   # prefill, 16-bit
    assert ta.PREFILL_CONFIG_FP32.block_m == 32           # fp32 tiles take twice the memory
    assert ta._MIN_SPLIT_TOKENS == 256                  # a shorter split costs more than it saves
    # H200 (132 SMs), Qwen3's 8 KV heads: 2048 programs are enough; 8 programs x 66 = 4 per SM;
    # 16 x 33 the same; and never under 256 tokens a split.
    assert ns["splits"] == {(256, 1024): 1, (1, 32768): 66, (2, 16384): 33, (1, 1000): 4}


_AGREE_CHECK = textwrap.dedent("""
    import runpy
    import torch
    ns = runpy.run_path("docs/snippets/m3/interview_agree.py", run_name="agree")
    found = ns["check_kernels"]()
    for splits in (1, 3):
        torch.testing.assert_close(found[f"decode, {splits} split(s)"], found["decode"],
                                   atol=1e-5, rtol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(found["torch cache"], found["triton cache"]))
    torch.testing.assert_close(found["triton prefill"], found["torch prefill"],
                               atol=1e-5, rtol=1e-5)
    print("kernels agree")
""")


@pytest.mark.skipif(not _TRITON, reason="triton is not installed")
def test_agree() -> None:
    """Triton picks interpreter or compiler at import: the check runs in a child process."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": path}
    child = subprocess.run([sys.executable, "-c", _AGREE_CHECK], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-4000:]
    assert child.stdout == "kernels agree\n"


def test_blocks_fragmentation() -> None:
    ns = _ns("blocks")
    lens, cdiv = ns["lens"], ns["cdiv"]
    m2, m3 = ns["m2"], ns["m3"]
    # Every sequence got its blocks: one slot each in M2, cdiv(n, 16) blocks in M3.
    assert [len(m2.get_block_ids(i)) for i in range(len(lens))] == [1] * len(lens)
    assert [len(m3.get_block_ids(i)) for i in range(len(lens))] == [cdiv(n, 16) for n in lens]
    assert sum(lens) == 1502 and (ns["m2_held"], ns["m3_held"]) == (12288, 1552)
    used = ns["used"]
    assert round(100 * used["M2"], 1) == 12.2 and round(100 * used["M3"], 1) == 96.8
    assert m2.num_free_blocks() == 2 and m3.num_free_blocks() == 927
    assert ns["left"] == (2, 463)
    assert ns["slots"] == {2048: 73, 4096: 36, 8192: 18, 40960: 3}
    assert ns["m3_running"] == {175.87}                 # M3: max_model_len is irrelevant
    assert ns["ratios"] == {2048: 2.41, 4096: 4.89, 8192: 9.77, 40960: 58.62}
    assert ns["m3_preemptions"] == {184}                # M3 pays with preemptions


def test_blocks_block_size() -> None:
    ns = _ns("blocks")
    waste = ns["waste"]
    assert set(waste) == {1, 16, 256}
    for bs, w in waste.items():
        assert max(w) == bs - 1 and sum(w) / len(w) == (bs - 1) / 2
    assert ns["entries"] == [40960, 2560, 160]
    assert ns["per_token"] == 112 * 2**10
    assert ns["block_bytes"] == 1.75 * 2**20         # one 16-token block, all layers
    assert ns["block_k_layer"] == 32 * 2**10         # its K in one layer: 32 KiB
    assert ns["token_k_layer"] == 2 * 2**10          # one token's K in one layer: 2 KiB
    assert ns["shared_prefix"] == (96, 0)


def test_blocks_boundary() -> None:
    ns = _ns("blocks")
    assert ns["prompt_blocks"] == [0]                # a 4-token prompt: one block
    assert ns["grew"] == [2, 2, 2, 2, 3] and ns["free_at_8"] == 0
    assert ns["new_blocks"] == [[], [], [], None]    # 9..11 fit, 12 needs a 4th block
    assert ns["held"] == 3


def test_blocks_recompute() -> None:
    ns = _ns("blocks")
    assert ns["prefill_ran"] == (["a", "b", "c"], 3)
    assert ns["decode_ran"] == ["a", "b"]            # a takes the free one, b takes c's
    status, blocks, computed, outputs = ns["victim_state"]
    assert status == SequenceStatus.PREEMPTED and blocks == []
    assert computed == 0 and outputs == 1            # its K/V are gone, its tokens are not
    assert ns["resumed_ran"] == (["c"], 5)           # prompt and output recomputed
    cached = ns["cached"]
    assert cached.resumed_from_preemption == [True]  # only its new blocks
    assert len(cached.new_block_ids[0]) == 2 and ns["preemptions"] == 1


def test_blocks_victim() -> None:
    ns = _ns("blocks")
    assert ns["came_back"] == [0] * 6                # nobody comes back meanwhile
    assert ns["preempted"] == [["3"], [], ["2"], [], ["1"], []]
    assert ns["steps"] == [["0", "1", "2"]] * 2 + [["0", "1"]] * 2 + [["0"]] * 2
    assert ns["waiting"] == ["1", "2", "3"]          # at the head, in arrival order
    assert ns["reqs"][0].is_finished() and ns["free"] == 6
    assert ns["after"] == (["1"], 2 + 5, 2, ["2", "3"])   # FCFS: nobody overtakes


def test_blocks_refcount_and_siblings() -> None:
    ns = _ns("blocks")
    assert ns["counts"] == [(1, 1, 2), (1, 0, 3), (0, 0, 4)]
    assert "freed twice" in ns["double_free"]
    pool = ns["pool"]
    assert pool.get_num_free_blocks() + ns["in_use"] == pool.num_blocks
    out, sched = ns["out"], ns["sched"]
    assert len(out.scheduled_new_seqs) == 3
    assert ns["computed"] == 3 * 10 and ns["stored"] == [3, 3, 3]
    assert sched.kv_cache_manager.num_free_blocks() == 16 - 9
    assert ns["shared"] == 5


def test_engine_slot_mapping() -> None:
    ns = _ns("engine")
    slot, md = ns["slot"], ns["prefill_md"]
    assert md.slot_mapping.tolist() == [20, 21, 22, 23, 8, 9, 28, 29, 30]
    assert md.slot_mapping.tolist() == ([slot([5, 2], p) for p in range(6)]
                                        + [slot([7], p) for p in range(3)])
    assert md.block_tables.tolist() == [[5, 2], [7, 0]]   # 0: padding, unread
    assert md.query_start_loc_host == [0, 6, 9] and md.seq_lens_host == [6, 3]
    assert ns["written"].tolist() == sorted(md.slot_mapping.tolist())   # those rows only
    md = ns["decode_md"]
    assert md.positions.tolist() == [6, 3]               # one new token each
    assert md.slot_mapping.tolist() == [slot([5, 2], 6), slot([7], 3)] == [10, 31]
    assert md.seq_lens_host == [7, 4] and md.max_query_len == 1


def test_engine_sizing_and_profile() -> None:
    ns = _ns("engine")
    per_token, r = ns["per_token"], ns["one_mib"]
    assert per_token == 2 * 2 * 2 * 16 * 4 == 512
    assert r.bytes_per_block == 16 * per_token == 8192
    assert r.num_blocks == 2**20 // 8192 == 128
    assert ns["v_cache"].shape == (128, 16, 2, 16)
    assert ns["bf16_blocks"] == 256
    assert ns["capped"] == 2 * 256 // 16
    assert ns["explicit"] == 7
    assert "cannot hold one block of 16 tokens" in ns["too_small"]
    assert ns["qwen3"].kv_cache_bytes_per_token() == 114688
    assert ns["qwen3_blocks"] == 9362 and 9362 * 16 == 149_792
    r = ns["r"]
    assert ns["profile_md"].seq_lens_host == [256, 256, 256, 256]
    assert [logits.shape[0] for logits in r.logits] == [1, 8]
    assert ns["profile_kv_bytes"] == 4 * 16 * r.bytes_per_block
    assert r.model.model.layers[0].self_attn.attn.k_cache is None


def test_engine_preemption() -> None:
    ns = _ns("engine")
    tokens = ns["by_block_size"]
    assert tokens[0] == tokens[1] == tokens[2]            # block size: same tokens
    assert set(ns["pairs"]) == {"greedy", "seeded"}
    for want, got in ns["pairs"].values():
        assert [o.outputs[0].token_ids for o in got] == [o.outputs[0].token_ids for o in want]
        assert [o.outputs[0].text for o in got] == [o.outputs[0].text for o in want]
    assert ns["small"].llm_engine.scheduler.num_preemptions > 0
    assert ns["big"].llm_engine.scheduler.num_preemptions == 0
    kept = ns["kept"]
    assert kept                                           # some sequence waited preempted
    for blocks, n_out, has_text, has_generator in kept:
        assert blocks == [] and n_out > 0 and has_text and has_generator


def test_engine_limits_and_leaks() -> None:
    ns = _ns("engine")
    assert "25 tokens, but the whole KV cache holds 24 (6 blocks" in ns["refused"]
    assert ns["queued"] is False
    assert ns["waiting"] == ["large"]
    assert ns["order"] == ["small", "large"]              # it ran once the cache was free
    out = ns["out"]
    assert len(out.token_ids) == 12 and out.finish_reason == "length"
    assert ns["kv"].num_free_blocks() == 4                # and its blocks came back
    engine, pool = ns["engine"], ns["pool"]
    assert engine.scheduler.num_preemptions > 0
    assert ns["free_idle"] == pool.num_blocks             # idle: all back
    assert "ref_cnt 1, held by 0" in ns["leak"]


def test_engine_cached_prefix() -> None:
    ns = _ns("engine")
    ids, md, tokens = ns["ids"], ns["md"], ns["tokens"]
    assert ids.tolist() == list(tokens[8:])               # only the 4 new tokens run
    assert md.max_query_len == 4 and md.seq_lens_host == [12]   # q < seq
    assert md.positions.tolist() == [8, 9, 10, 11]
    assert md.slot_mapping.tolist() == [20, 21, 22, 23]
    torch.testing.assert_close(ns["logits"], ns["expected"])
