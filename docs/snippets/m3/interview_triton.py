"""M3 interview answers run on the Triton kernels themselves: the paged decode kernel (with and
without split-K) and the paged prefill kernel (with a cached prefix) agree with the torch
reference, and how the number of splits is chosen.

The kernels run on the CPU through Triton's interpreter. Triton decides between interpreter and
compiler once per process, when it is first imported, so this file re-runs itself in a child
process with ``TRITON_INTERPRET=1`` (as ``tests/m3/test_triton_kernels.py`` does). Takes a few
seconds. Run from the repository root: ``python docs/snippets/m3/interview_triton.py``.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def check_kernels() -> None:
    import torch

    from folovllm.attention.backends import torch_ref
    from folovllm.attention.backends import triton_attn as ta
    from folovllm.attention.metadata import AttentionMetadata

    def metadata(tables, seq_lens, q_lens, bs, is_prefill) -> AttentionMetadata:
        """What the runner builds: each sequence's last q_len of seq_len tokens are new."""
        starts = [0]
        for n in q_lens:
            starts.append(starts[-1] + n)
        pos = [p for n, ql in zip(seq_lens, q_lens) for p in range(n - ql, n)]
        owner = [i for i, ql in enumerate(q_lens) for _ in range(ql)]
        width = max(map(len, tables))
        return AttentionMetadata(
            is_prefill=is_prefill, positions=torch.tensor(pos),
            slot_mapping=torch.tensor([tables[i][p // bs] * bs + p % bs for i, p in zip(owner, pos)]),
            seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
            block_tables=torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32),
            query_start_loc=torch.tensor(starts, dtype=torch.int32), query_start_loc_host=starts,
            seq_lens_host=seq_lens, max_query_len=max(q_lens), max_seq_len=max(seq_lens))

    # --8<-- [start:agree]
    torch.manual_seed(0)
    bs, H, Hk, D, scale = 4, 4, 2, 16, 0.25
    seq_lens = [37, 5, 20]
    num_blocks = sum(-(-n // bs) for n in seq_lens) + 2
    perm, tables = torch.randperm(num_blocks).tolist(), []
    for n in seq_lens:                                  # non-contiguous blocks per sequence
        tables.append(perm[: -(-n // bs)])
        perm = perm[-(-n // bs):]
    k_cache = torch.randn(num_blocks, bs, Hk, D)
    v_cache = torch.randn(num_blocks, bs, Hk, D)

    # Decode: one query per sequence; the kernel follows the block table in place.
    md = metadata(tables, seq_lens, [1, 1, 1], bs, is_prefill=False)
    q = torch.randn(3, H, D)
    ref = torch_ref.decode_attention(q, k_cache, v_cache, md, scale)
    for splits in (1, 3):                               # one pass, or 3 splits merged by LSE
        out = ta.paged_decode(q, k_cache, v_cache, md.block_tables, md.seq_lens,
                              md.max_seq_len, scale, num_splits=splits)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)

    # Prefill with a cached prefix (M4/M5's case): sequence 0 brings 4 new tokens after 33
    # cached ones, sequences 1 and 2 whole prompts. Both backends write the new K/V first.
    q_lens = [4, 5, 20]
    md = metadata(tables, seq_lens, q_lens, bs, is_prefill=True)
    T = sum(q_lens)
    q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)
    caches = {}
    for name, backend in (("torch", torch_ref), ("triton", ta)):
        kc, vc = k_cache.clone(), v_cache.clone()
        backend.write_kv(kc, vc, k, v, md)
        caches[name] = (kc, vc)
        out = backend.prefill_attention(q, k, v, kc, vc, md, scale)
        if name == "torch":
            ref = out
    assert all(torch.equal(a, b) for a, b in zip(caches["torch"], caches["triton"]))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # --8<-- [end:agree]

    # --8<-- [start:splits]
    assert ta.DECODE_CONFIG.block_n == 64                 # keys per tile, decode
    assert (ta.PREFILL_CONFIG.block_m, ta.PREFILL_CONFIG.block_n) == (64, 64)   # prefill, 16-bit
    assert ta.PREFILL_CONFIG_FP32.block_m == 32           # fp32 tiles take twice the memory
    assert ta._MIN_SPLIT_TOKENS == 256                  # a shorter split costs more than it saves
    # How many splits per context, for an H200 (132 SMs) and Qwen3's 8 KV heads:
    assert ta.choose_num_splits(256, 8, 1024, num_sms=132) == 1     # 2048 programs: enough
    assert ta.choose_num_splits(1, 8, 32768, num_sms=132) == 66     # 8 programs x 66 = 4 per SM
    assert ta.choose_num_splits(2, 8, 16384, num_sms=132) == 33     # 16 programs x 33: the same
    assert ta.choose_num_splits(1, 8, 1000, num_sms=132) == 4       # but >= 256 tokens each
    # --8<-- [end:splits]


if importlib.util.find_spec("triton") is None:  # an install without Triton: as the kernel tests do
    print("triton answers: skipped, triton is not installed")
elif os.environ.get("TRITON_INTERPRET") == "1":
    check_kernels()
    print("triton answers: all asserts passed")
else:
    env = {**os.environ, "TRITON_INTERPRET": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    child = subprocess.run([sys.executable, __file__], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-4000:]
    print(child.stdout, end="")
    assert "all asserts passed" in child.stdout
