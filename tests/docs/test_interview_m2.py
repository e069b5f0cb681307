"""The claims the M2 interview answers rely on, checked on the programs the page shows.

(The engine, runner and scheduler answers are checked by the programs themselves.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
