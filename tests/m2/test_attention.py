"""The torch reference attention backend against a naive per-sequence computation."""

from __future__ import annotations

import pytest
import torch

import folovllm.attention.backends.torch_ref as torch_ref
from folovllm.attention.metadata import AttentionMetadata
from folovllm.model_executor.models.llama import head_dim_of
from folovllm.worker.model_runner import _window


def _naive(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """q [Tq, H, D], k/v [Tk, Hk, D] -> [Tq, H, D], in float64, GQA by repeating K/V heads."""
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1).double(), v.repeat_interleave(rep, dim=1).double()
    scores = torch.einsum("qhd,khd->hqk", q.double(), k) / q.shape[-1] ** 0.5
    if causal:  # the last query sees every key; earlier ones see fewer
        tq, tk = q.shape[0], k.shape[0]
        mask = torch.ones(tq, tk, dtype=torch.bool).tril(diagonal=tk - tq)
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.einsum("hqk,khd->qhd", scores.softmax(-1), v)


@pytest.mark.parametrize("slot_ids,slots", [
    ([4, 0, 2], 5),    # a narrow window with a gap: decode attends over the window in place
    ([9, 0, 20], 21),  # spread out: decode copies the three slots out first
])
def test_prefill_then_decode_match_naive_attention(slot_ids, slots) -> None:
    torch.manual_seed(0)
    H, Hk, D, max_len = 4, 2, 8, 32
    lens = [7, 3, 12]
    k_cache = torch.zeros(slots, max_len, Hk, D)
    v_cache = torch.zeros_like(k_cache)
    T = sum(lens)
    q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)
    starts = [0, 7, 10, 22]
    md = AttentionMetadata(
        is_prefill=True, slot_ids=torch.tensor(slot_ids), seq_lens=torch.tensor(lens),
        token_slot_ids=torch.tensor([s for s, n in zip(slot_ids, lens) for _ in range(n)]),
        positions=torch.tensor([p for n in lens for p in range(n)]), query_start_loc=starts,
        max_seq_len=max(lens))
    torch_ref.write_kv(k_cache, v_cache, k, v, md)
    out = torch_ref.prefill_attention(q, k, v, md, scale=D ** -0.5)
    for i, (s, e) in enumerate(zip(starts, starts[1:])):
        torch.testing.assert_close(out[s:e], _naive(q[s:e], k[s:e], v[s:e], True).float())
        torch.testing.assert_close(k_cache[slot_ids[i], : lens[i]], k[s:e])  # stored in its slot

    # one decode token per sequence, attending to its whole cached context
    q1, k1, v1 = torch.randn(3, H, D), torch.randn(3, Hk, D), torch.randn(3, Hk, D)
    new_lens = [n + 1 for n in lens]
    md = AttentionMetadata(
        is_prefill=False, slot_ids=torch.tensor(slot_ids), seq_lens=torch.tensor(new_lens),
        token_slot_ids=torch.tensor(slot_ids), positions=torch.tensor(lens),
        query_start_loc=[0, 1, 2, 3], max_seq_len=max(new_lens), slot_window=_window(slot_ids))
    assert (md.slot_window is None) == (max(slot_ids) >= 2 * len(slot_ids))
    torch_ref.write_kv(k_cache, v_cache, k1, v1, md)
    out = torch_ref.decode_attention(q1, k_cache, v_cache, md, scale=D ** -0.5)
    for i, (s, e) in enumerate(zip(starts, starts[1:])):
        keys = torch.cat([k[s:e], k1[i:i + 1]])
        values = torch.cat([v[s:e], v1[i:i + 1]])
        torch.testing.assert_close(out[i:i + 1], _naive(q1[i:i + 1], keys, values, True).float())


def test_head_dim_defaults_to_hidden_over_heads() -> None:
    class Cfg:
        hidden_size, num_attention_heads = 64, 4

    assert head_dim_of(Cfg()) == 16
    Cfg.head_dim = 32
    assert head_dim_of(Cfg()) == 32
