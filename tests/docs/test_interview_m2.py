"""The claims the M2 interview answers rely on, checked on the programs the page shows.

The short layer programs and the sections of the longer scheduler, runner and engine files only
compute and print; their globals carry the values these tests check.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from folovllm.worker.model_runner import ModelRunner
from tests.docs.docs_tools import run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m2/interview_{name}.py").namespace


def test_fused_linear() -> None:
    ns = _ns("fused_linear")
    qkv, x = ns["qkv"], ns["x"]
    assert qkv.offsets == {"q": (0, 64), "k": (64, 32), "v": (96, 32)}  # rows of the stacked W
    torch.testing.assert_close(ns["q"], x @ ns["wq"].T)          # one matmul, three results
    torch.testing.assert_close(ns["k"], x @ ns["wk"].T)
    torch.testing.assert_close(ns["v"], x @ ns["wv"].T)
    assert "has 3 rows, expected 32" in ns["wrong_shape"]
    torch.testing.assert_close(ns["mlp"], F.silu(x @ ns["w_gate"].T) * (x @ ns["w_up"].T))


def test_rmsnorm() -> None:
    ns = _ns("rmsnorm")
    x, residual = ns["x"], ns["residual"]
    assert torch.equal(ns["new_residual"], x + residual)
    assert ns["fused"] is True                 # out == norm(x + residual), exactly
    # Bit for bit transformers' result, in float32 and in bfloat16.
    assert ns["same_fp32"] is True and ns["same_bf16"] is True
    xb = ns["xb"]
    assert torch.equal(ns["norm_bf16"](xb), ns["ref_bf16"](xb))


def test_rope() -> None:
    ns = _ns("rope")
    rope, q, k, q_rot, D = ns["rope"], ns["q"], ns["k"], ns["q_rot"], ns["D"]
    assert rope.cos.shape == (ns["max_pos"], D) and rope.cos.dtype == torch.float32
    torch.testing.assert_close(q_rot[3], rope(torch.tensor([0]), q[3:4], k[3:4])[0][0])
    assert torch.equal(q_rot[0], q[0])                  # position 0 is the identity
    torch.testing.assert_close(q_rot.norm(dim=-1), q.norm(dim=-1))
    score = ns["score"]
    torch.testing.assert_close(score(7, 3), score(107, 103), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(score(7, 3), score(7, 5), atol=1e-3)
    assert not torch.allclose(ns["gptj"], q_rot, atol=1e-3)
    torch.testing.assert_close(ns["neox_of_permuted"], ns["gptj"][..., ns["perm"]])
    base, scaled, high, low, mid = (ns[n] for n in ("base", "scaled", "high", "low", "mid"))
    assert torch.equal(scaled[high], base[high])
    torch.testing.assert_close(scaled[low], base[low] / 8)
    assert mid.any() and bool(((scaled[mid] < base[mid]) & (scaled[mid] > base[mid] / 8)).all())


def test_gqa() -> None:
    ns = _ns("gqa")
    gqa, group, k = ns["gqa"], ns["group"], ns["k"]
    torch.testing.assert_close(gqa, ns["expanded"])
    assert not torch.allclose(gqa, ns["tiled"])       # h // group, not h % Hk
    assert k.numel() * 4 == k.repeat_interleave(group, dim=0).numel()
    torch.testing.assert_close(ns["packed"], ns["reference"])


def test_metadata() -> None:
    ns = _ns("metadata")
    md, k, k_cache = ns["md"], ns["k"], ns["k_cache"]
    assert md.slot_mapping.tolist() == [16, 17, 18, 0, 8, 9]
    assert torch.equal(k_cache[2, :3], k[0:3]) and torch.equal(k_cache[0, 0], k[3])
    assert torch.equal(k_cache[1, :2], k[4:6]) and k_cache[1, 2:].abs().sum() == 0
    mixed, out = ns["mixed"], ns["out"]
    torch.testing.assert_close(mixed[:3], out[:3])         # the first prompt sees only itself
    assert not torch.allclose(mixed[3:], out[3:])          # the others now see foreign tokens


def test_backend() -> None:
    ns = _ns("backend")
    out, starts = ns["out"], ns["starts"]
    for (s, e), alone in zip(zip(starts[:-1], starts[1:]), ns["prefill_alone"], strict=True):
        torch.testing.assert_close(out[s:e], alone)
    assert len(ns["decode_alone"]) == 2
    for i, alone in enumerate(ns["decode_alone"]):
        torch.testing.assert_close(ns["dec_out"][i], alone)
    assert (ns["k_cache"][0, 2:] == 1e4).all()   # the stale values were there, and hidden


def test_onednn() -> None:
    ns = _ns("onednn")
    assert ns["fp32_path"] == ns["ONEDNN_LINEAR"] and not ns["bf16_path"]
    torch.testing.assert_close(ns["ours"], ns["default"], rtol=1e-5, atol=1e-4)


def test_scheduler() -> None:
    ns = _ns("scheduler")
    static, continuous = ns["static"], ns["continuous"]
    assert static["useful"] == continuous["useful"] == 67        # the same tokens either way...
    assert (static["steps"], continuous["steps"]) == (32, 25)    # ...static lasts longer,
    assert (static["computed"], continuous["computed"]) == (120, 67)  # and computes dead rows
    # Iteration-level: b joins at the next step, short and late take freed slots at once.
    assert ns["step_1"] == ["a"] and ns["step_2"] == ["b"]
    assert ns["decode_steps"] == [[]] * 9           # a: 1 token from its prefill + 9 decodes
    assert ns["took_a_slot"] == ["short"] and ns["short_blocks"] == [0]   # no copying
    assert ns["took_short_slot"] == ["late"]
    # The three budgets and FCFS.
    assert ns["by_seqs"] == (["a", "b"], 1)
    assert ns["by_tokens"] == (["a", "b"], 90) and ns["next_step"] == ["c"]
    assert ns["by_memory"] == (["a"], 1)
    assert ns["fcfs"] == [["a"], ["big", "c"]]
    # Prefill first: the talker runs only in the step that admits nobody.
    kinds = ns["kinds"]
    assert kinds == ["prefill", "prefill", "prefill", "decode"]
    assert ns["talker_ran"] == [k == "decode" for k in kinds]
    assert ns["talker_tokens"] == 3                  # 6 steps, 3 stalled


def test_runner_flat_batch() -> None:
    ns = _ns("runner")
    prefill_in, decode_in = ns["seen"][:2]     # the first two forwards: prefill, decode
    ids, positions, md = prefill_in
    assert ids.shape == (16,)                  # 8 + 3 + 5 tokens: no padding, no batch dim
    assert ns["padded"] == 24                  # padded [3, 8]: 24
    assert md.query_start_loc_host == [0, 8, 11, 16]
    assert positions.tolist() == [*range(8), *range(3), *range(5)]
    assert md.block_tables.tolist() == [[0], [1], [2]]       # each sequence's slot
    assert md.slot_mapping.tolist() == [*range(0, 8), *range(256, 259), *range(512, 517)]
    assert md.seq_lens.tolist() == [8, 3, 5] and md.max_seq_len == 8
    ids, positions, md = decode_in
    assert ids.shape == (3,) and positions.tolist() == [8, 3, 5]
    assert md.seq_lens.tolist() == [9, 4, 6]
    assert md.query_start_loc_host == [0, 1, 2, 3]
    torch.testing.assert_close(ns["mlp_batch"], ns["mlp_alone"])


def test_runner_last_logits() -> None:
    ns = _ns("runner")
    V, hidden_size = ns["V"], ns["hidden_size"]
    assert ns["hidden"][-1].shape == (16, hidden_size)     # a state for every token...
    logits = ns["logits"]
    assert logits.shape == (3, V)                          # ...logits for each one's last only
    torch.testing.assert_close(logits, ns["full"][ns["last"]])
    assert (ns["total"], ns["head"]) == (596_049_920, 151936 * 1024)
    assert round(ns["head_share"], 2) == 0.26
    assert ns["all_logits_bytes"] == 1187 * 2**20


def test_runner_weights() -> None:
    ns = _ns("runner")
    attn, mlp = ns["attn"], ns["mlp"]
    assert torch.equal(attn.qkv_proj.weight, ns["qkv_weight"])
    assert torch.equal(attn.qkv_proj.bias, ns["qkv_bias"])
    assert torch.equal(mlp.gate_up_proj.weight, ns["gate_up"])
    assert type(ns["qwen2"]).PACKED["k_proj"] == ("qkv_proj", "k")
    assert len(ns["ckpt_proj"]) == 7
    assert ns["our_proj"] == {"self_attn.qkv_proj", "self_attn.o_proj",
                              "mlp.gate_up_proj", "mlp.down_proj"}


def test_runner_models() -> None:
    ns = _ns("runner")
    attns, models = ns["attns"], ns["models"]
    assert attns["llama"].qkv_proj.bias is None
    assert attns["llama"].q_norm is None
    assert attns["qwen2"].qkv_proj.bias is not None
    assert attns["qwen2"].q_norm is None
    assert attns["qwen3"].qkv_proj.bias is None
    assert attns["qwen3"].q_norm.weight.shape == (32,)
    assert attns["llama"].head_dim == 64 // 4 == 16
    assert attns["qwen3"].head_dim == 32
    assert attns["qwen3"].qkv_proj.q_size == 4 * 32 == 2 * 64
    assert tuple(attns["qwen3"].o_proj.weight.shape) == (64, 128)   # [out, in]: 128 back to 64
    assert ns["one_decoder"] is True
    biases = ns["biases"]
    assert (biases.qkv, biases.o) == (True, False)
    assert type(models["qwen3"]).QK_NORM
    assert ns["rope"]["llama"]["rope_type"] == "llama3"
    assert ns["rope"]["qwen2"]["rope_theta"] == 1e6


def test_runner_tied() -> None:
    ns = _ns("runner")
    qwen2, llama = ns["qwen2"], ns["llama"]
    assert qwen2.lm_head.weight is qwen2.model.embed_tokens.weight
    assert llama.lm_head.weight is not llama.model.embed_tokens.weight
    assert ns["saved"] == ns["V"] * ns["hidden_size"]     # the saved head
    assert "lm_head.weight" not in ns["qwen2_names"]


def test_runner_slot_cache() -> None:
    ns = _ns("runner")
    runner, per_token = ns["runner"], ns["per_token"]
    assert per_token == 512 and runner.max_model_len == 256
    assert runner.block_size == 256                  # a block of max_model_len: a slot
    assert runner.bytes_per_block == 256 * 512
    assert runner.num_blocks == 2**20 // runner.bytes_per_block == 8
    assert ns["k_cache"].shape == (8, 256, 2, 16)   # [slots, max_model_len, Hk, D]
    assert round(ns["used"], 3) == 0.078
    assert ns["tokens"] == 2**20 // per_token == 2048 and ns["paged"].num_blocks // 2 == 64
    assert ns["slot_bytes"] == 4.375 * 2**30
    assert ns["slots_in_64_gib"] == 14


def test_runner_kv_budget() -> None:
    ns = _ns("runner")
    assert ns["by_seqs"] == 3
    assert ns["cpu_budget"] == 4 * 2**30
    assert ns["cpu_default"] == 16
    assert "cannot hold one block of 256 tokens" in ns["too_small"]
    assert ns["shorter"] == 32
    assert ns["sampler_mib"] == 148
    assert "must be >= max_model_len=256" in ns["budget_error"]


def test_runner_parity() -> None:
    ns = _ns("runner")
    assert ns["left"] == 1.0 and ns["right"] == 0.0          # not associative
    assert set(ns["parity"]) == {"llama", "qwen2", "qwen3"}
    for ours, ref in ns["parity"].values():
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
        assert torch.equal(ours.argmax(-1), ref.argmax(-1))
    together = ns["together"]
    assert len(ns["alone"]) == 3
    for i, alone in enumerate(ns["alone"]):
        torch.testing.assert_close(alone, together[i], atol=1e-5, rtol=1e-5)
        assert alone.argmax() == together[i].argmax()


def test_engine() -> None:
    ns = _ns("engine")
    assert isinstance(ns["runner"], ModelRunner)          # our model code
    assert ns["same_tokens"] is True                      # greedy, same weights: same tokens
    assert ns["order"] == ["short", "long"]               # joins at once, done in 2 steps
    # M1's static batch: 30 forwards for both, and the cache goes with the batch.
    assert [len(t) for t in ns["tokens"]] == [30, 2] and len(ns["forwards"]) == 30
    assert ns["m1"]._cache is None
    # Batch invariance: alone, in a batch, joining late: the same tokens.
    alone = ns["alone"]
    assert ns["in_batch"] == alone and ns["joined_late"] == alone
    assert ns["free_after"] == ns["kv"].num_blocks        # every slot (block) returned
    logits, ref, top2 = ns["logits"], ns["ref"], ns["top2"]
    assert not torch.equal(logits, ref)                   # not bit for bit...
    assert ref.abs().max() > 20                           # (logits reach the 20s)
    torch.testing.assert_close(logits, ref, atol=2e-3, rtol=1e-5)   # ...within fp32 rounding
    assert torch.equal(logits.argmax(-1), ref.argmax(-1))
    assert bool((top2[:, 0] - top2[:, 1] > 100 * ns["error"]).all())   # no near ties
