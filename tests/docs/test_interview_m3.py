"""The claims the M3 interview answers on kernels rely on, checked on the programs the page shows.

(The block, engine and preemption answers are checked by the programs themselves.)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

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
