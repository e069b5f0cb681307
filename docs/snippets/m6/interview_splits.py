"""The decode kernel's split count, fixed per graph: the engine's own
choose_num_splits for Qwen3-0.6B's 8 KV heads on an H200's 132 SMs,
given max_model_len (2048, as captured) or the step's longest context
(eager). Then why any count gives the same answer: split softmaxes merged
by their log-sum-exp, empty splits included (float64, on the CPU)."""

import torch

from folovllm.attention.backends.triton_attn import choose_num_splits
from folovllm.core.kv_cache_manager import cdiv

for seqs, longest in ((1, 300), (4, 1500), (16, 700), (64, 2048)):
    graph = choose_num_splits(seqs, 8, 2048, 132)
    eager = choose_num_splits(seqs, 8, longest, 132)
    print(f"{seqs:2d} seqs, longest {longest:4d}: graph {graph} splits,"
          f" eager {eager}")

torch.manual_seed(0)
seq_len, d = 300, 8
q, k, v = (torch.randn(n, d, dtype=torch.float64) for n in (1, seq_len,
                                                             seq_len))
scores = (q @ k.T).squeeze(0)
whole = scores.softmax(0) @ v
for splits in (1, 3, 8):
    size = cdiv(cdiv(seq_len, splits), 64) * 64   # as the kernel cuts
    outs, lses = [], []
    for s in range(splits):
        part = slice(s * size, min((s + 1) * size, seq_len))
        if part.start >= seq_len:              # past the end: empty
            continue
        outs.append(scores[part].softmax(0) @ v[part])
        lses.append(scores[part].logsumexp(0))
    w = torch.stack(lses).softmax(0)           # each split's share
    merged = (w[:, None] * torch.stack(outs)).sum(0)
    same = torch.allclose(merged, whole, rtol=0, atol=1e-12)  # up to rounding
    print(f"{splits} splits of {size} ({len(outs)} non-empty): "
          f"same as one softmax: {same}")
