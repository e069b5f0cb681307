"""The Triton kernels agree with the torch reference, on the CPU.

Triton picks interpreter or compiler once, at import: this file runs
itself again in a child process with TRITON_INTERPRET=1.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def metadata(tables, seq_lens, q_lens, bs):
    """What the runner builds: each sequence's last q_len tokens are new."""
    import torch

    from folovllm.attention.metadata import AttentionMetadata
    starts = [0]
    for n in q_lens:
        starts.append(starts[-1] + n)
    pos = [p for n, ql in zip(seq_lens, q_lens) for p in range(n - ql, n)]
    owner = [i for i, ql in enumerate(q_lens) for _ in range(ql)]
    slots = [tables[i][p // bs] * bs + p % bs for i, p in zip(owner, pos)]
    width = max(map(len, tables))
    padded = [t + [0] * (width - len(t)) for t in tables]
    return AttentionMetadata(
        positions=torch.tensor(pos),
        slot_mapping=torch.tensor(slots),
        seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
        block_tables=torch.tensor(padded, dtype=torch.int32),
        query_start_loc=torch.tensor(starts, dtype=torch.int32),
        query_start_loc_host=starts, seq_lens_host=seq_lens,
        max_query_len=max(q_lens), max_seq_len=max(seq_lens))


def check_kernels() -> dict:
    import torch

    from folovllm.attention.backends import torch_ref
    from folovllm.attention.backends import triton_attn as ta
    torch.manual_seed(0)
    bs, H, Hk, D, scale = 4, 4, 2, 16, 0.25
    seq_lens = [37, 5, 20]
    num_blocks = sum(-(-n // bs) for n in seq_lens) + 2
    perm, tables = torch.randperm(num_blocks).tolist(), []
    for n in seq_lens:  # non-contiguous blocks per sequence
        tables.append(perm[: -(-n // bs)])
        perm = perm[-(-n // bs):]
    k_cache = torch.randn(num_blocks, bs, Hk, D)
    v_cache = torch.randn(num_blocks, bs, Hk, D)

    # Decode: one query per sequence, following the block table in place.
    md = metadata(tables, seq_lens, [1, 1, 1], bs)
    q = torch.randn(3, H, D)
    found = {"decode": torch_ref.decode_attention(q, k_cache, v_cache, md,
                                                  scale)}
    for splits in (1, 3):  # one pass, or 3 splits merged by LSE
        found[f"decode, {splits} split(s)"] = ta.paged_decode(
            q, k_cache, v_cache, md.block_tables, md.seq_lens,
            md.max_seq_len, scale, num_splits=splits)

    # Prefill after 33 cached tokens for sequence 0, whole prompts for 1, 2.
    q_lens = [4, 5, 20]
    md = metadata(tables, seq_lens, q_lens, bs)
    T = sum(q_lens)
    q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)
    for name, backend in (("torch", torch_ref), ("triton", ta)):
        kc, vc = k_cache.clone(), v_cache.clone()
        backend.write_kv(kc, vc, k, v, md)  # the new K/V first
        found[f"{name} cache"] = (kc, vc)
        found[f"{name} prefill"] = backend.prefill_attention(q, k, v, kc, vc,
                                                             md, scale)
    return found


def main() -> None:
    if importlib.util.find_spec("triton") is None:  # as the kernel tests do
        print("skipped: triton is not installed")
    elif os.environ.get("TRITON_INTERPRET") == "1":
        found = check_kernels()
        for name in ("decode, 1 split(s)", "decode, 3 split(s)"):
            close = bool((found[name] - found["decode"]).abs().max() < 1e-5)
            print(f"Triton {name} == torch: {close}")
        same_cache = all(a.equal(b) for a, b in zip(found["torch cache"],
                                                     found["triton cache"]))
        diff = (found["triton prefill"] - found["torch prefill"]).abs().max()
        print("Triton prefill == torch:", bool(diff < 1e-5),
              "| same K/V written:", same_cache)
    else:
        path = os.pathsep.join(filter(None, [str(REPO),
                                             os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": path}
        child = subprocess.run([sys.executable, __file__], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=300)
        if child.returncode:
            raise RuntimeError(child.stdout[-4000:] + child.stderr[-4000:])
        print(child.stdout, end="")


if __name__ == "__main__":
    main()
