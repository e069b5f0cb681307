"""The torch reference backend over a paged cache against a naive per-sequence computation."""

from __future__ import annotations

import pytest
import torch

import folovllm.attention.backends.torch_ref as torch_ref
from folovllm.attention.metadata import AttentionMetadata


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """q ``[Tq, H, D]`` are the last Tq of the Tk context tokens ``k``/``v`` ``[Tk, Hk, D]``;
    causal; float64; GQA by repeating K/V heads."""
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1).double(), v.repeat_interleave(rep, dim=1).double()
    scores = torch.einsum("qhd,khd->hqk", q.double(), k) / q.shape[-1] ** 0.5
    tq, tk = q.shape[0], k.shape[0]
    mask = torch.ones(tq, tk, dtype=torch.bool).tril(diagonal=tk - tq)
    return torch.einsum("hqk,khd->qhd", scores.masked_fill(~mask, float("-inf")).softmax(-1), v)


def paged_metadata(tables: list[list[int]], seq_lens: list[int], q_lens: list[int],
                   block_size: int) -> AttentionMetadata:
    """Metadata for sequences whose last ``q_len`` tokens are new, as the runner builds it."""
    starts = [0]
    for n in q_lens:
        starts.append(starts[-1] + n)
    positions = [p for n, q in zip(seq_lens, q_lens) for p in range(n - q, n)]
    owner = [i for i, q in enumerate(q_lens) for _ in range(q)]
    slots = [tables[i][p // block_size] * block_size + p % block_size
             for i, p in zip(owner, positions)]
    width = max(len(t) for t in tables)
    return AttentionMetadata(
        positions=torch.tensor(positions), slot_mapping=torch.tensor(slots),
        seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
        block_tables=torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32),
        query_start_loc=torch.tensor(starts, dtype=torch.int32), query_start_loc_host=starts,
        seq_lens_host=seq_lens, max_query_len=max(q_lens), max_seq_len=max(seq_lens))


def _random_tables(lens: list[int], block_size: int, num_blocks: int,
                   gen: torch.Generator) -> list[list[int]]:
    """Non-contiguous, shuffled physical blocks: the paging is really exercised."""
    perm = torch.randperm(num_blocks, generator=gen).tolist()
    tables = []
    for n in lens:
        count = -(-n // block_size)
        tables.append(perm[:count])
        perm = perm[count:]
    return tables


@pytest.mark.parametrize("block_size", [1, 4, 16, 64])
@pytest.mark.parametrize("heads", [(4, 2), (4, 4), (6, 1)])
def test_prefill_then_decodes_match_naive(block_size, heads) -> None:
    H, Hk = heads
    D = 8
    gen = torch.Generator().manual_seed(block_size * 10 + H + Hk)
    lens = [7, 1, 13, 33]                  # partial last blocks, a one-token prompt
    num_blocks = sum(-(-(n + 3) // block_size) for n in lens) + 5
    tables = _random_tables([n + 3 for n in lens], block_size, num_blocks, gen)
    k_cache = torch.zeros(num_blocks, block_size, Hk, D)
    v_cache = torch.zeros_like(k_cache)
    T = sum(lens)
    q, k, v = (torch.randn(T, h, D, generator=gen) for h in (H, Hk, Hk))
    md = paged_metadata(tables, lens, lens, block_size)
    torch_ref.write_kv(k_cache, v_cache, k, v, md)
    out = torch_ref.prefill_attention(q, k, v, k_cache, v_cache, md, scale=D ** -0.5)
    context_k = [k[s:e] for s, e in zip(md.query_start_loc_host, md.query_start_loc_host[1:])]
    context_v = [v[s:e] for s, e in zip(md.query_start_loc_host, md.query_start_loc_host[1:])]
    for i, (s, e) in enumerate(zip(md.query_start_loc_host, md.query_start_loc_host[1:])):
        torch.testing.assert_close(out[s:e], naive_attention(q[s:e], k[s:e], v[s:e]).float())
        stored = torch_ref.gather_context(k_cache, md.block_tables[i], lens[i])
        torch.testing.assert_close(stored, k[s:e])   # each token at its slot
    for _ in range(3):                               # decodes: the context lives in the cache
        lens = [n + 1 for n in lens]
        q1, k1, v1 = (torch.randn(len(lens), h, D, generator=gen) for h in (H, Hk, Hk))
        md = paged_metadata(tables, lens, [1] * len(lens), block_size)
        torch_ref.write_kv(k_cache, v_cache, k1, v1, md)
        out = torch_ref.decode_attention(q1, k_cache, v_cache, md, scale=D ** -0.5)
        for i in range(len(lens)):
            context_k[i] = torch.cat([context_k[i], k1[i:i + 1]])
            context_v[i] = torch.cat([context_v[i], v1[i:i + 1]])
            ref = naive_attention(q1[i:i + 1], context_k[i], context_v[i]).float()
            torch.testing.assert_close(out[i:i + 1], ref)


def test_prefill_over_a_cached_prefix_reads_the_blocks() -> None:
    """q_len < seq_len (what prefix caching and chunked prefill produce): the first tokens come
    from the cache only, and each new token sees the prefix plus the new tokens before it."""
    gen = torch.Generator().manual_seed(1)
    H, Hk, D, bs = 4, 2, 8, 4
    lens, q_lens = [10, 6], [3, 6]
    tables = _random_tables(lens, bs, 8, gen)
    k_cache, v_cache = torch.zeros(8, bs, Hk, D), torch.zeros(8, bs, Hk, D)
    full_k = [torch.randn(n, Hk, D, generator=gen) for n in lens]
    full_v = [torch.randn(n, Hk, D, generator=gen) for n in lens]
    prefix = paged_metadata(tables, [7], [7], bs)   # the cached prefix of sequence 0
    prefix.block_tables = prefix.block_tables[:1]
    torch_ref.write_kv(k_cache, v_cache, full_k[0][:7], full_v[0][:7], prefix)
    md = paged_metadata(tables, lens, q_lens, bs)
    k = torch.cat([full_k[0][7:], full_k[1]])
    v = torch.cat([full_v[0][7:], full_v[1]])
    q = torch.randn(sum(q_lens), H, D, generator=gen)
    torch_ref.write_kv(k_cache, v_cache, k, v, md)
    out = torch_ref.prefill_attention(q, k, v, k_cache, v_cache, md, scale=D ** -0.5)
    torch.testing.assert_close(out[:3], naive_attention(q[:3], full_k[0], full_v[0]).float())
    torch.testing.assert_close(out[3:], naive_attention(q[3:], full_k[1], full_v[1]).float())


def test_a_wrong_block_table_gives_a_wrong_answer() -> None:
    """The check above can fail: pointing a sequence at someone else's blocks changes it."""
    gen = torch.Generator().manual_seed(2)
    bs, D = 4, 8
    k_cache, v_cache = torch.randn(6, bs, 2, D, generator=gen), torch.randn(6, bs, 2, D, generator=gen)
    q = torch.randn(1, 4, D, generator=gen)
    good = paged_metadata([[0, 1]], [7], [1], bs)
    bad = paged_metadata([[2, 3]], [7], [1], bs)
    a = torch_ref.decode_attention(q, k_cache, v_cache, good, D ** -0.5)
    b = torch_ref.decode_attention(q, k_cache, v_cache, bad, D ** -0.5)
    assert not torch.allclose(a, b)


def test_the_layer_takes_the_decode_kernel_only_when_every_query_is_one_token() -> None:
    """No prefill flag: a batch of one-token queries decodes, and a mixed batch (a decoding
    sequence beside a prompt) goes through the varlen path, which attends it correctly too."""
    from folovllm.model_executor.layers.attention import Attention

    gen = torch.Generator().manual_seed(3)
    H, Hk, D, bs = 4, 2, 8, 4
    layer = Attention(H, Hk, D)
    layer.k_cache, layer.v_cache = torch.zeros(8, bs, Hk, D), torch.zeros(8, bs, Hk, D)
    calls = []

    class Spy:
        write_kv = staticmethod(torch_ref.write_kv)

        @staticmethod
        def decode_attention(*args):
            calls.append("decode")
            return torch_ref.decode_attention(*args)

        @staticmethod
        def prefill_attention(*args):
            calls.append("prefill")
            return torch_ref.prefill_attention(*args)

    layer.backend = Spy
    tables = [[0, 1], [2, 3]]
    full_k = [torch.randn(n, Hk, D, generator=gen) for n in (6, 3)]
    full_v = [torch.randn(n, Hk, D, generator=gen) for n in (6, 3)]
    torch_ref.write_kv(layer.k_cache, layer.v_cache, full_k[0][:5], full_v[0][:5],
                       paged_metadata(tables[:1], [5], [5], bs))   # sequence 0's cached context
    md = paged_metadata(tables, [6, 3], [1, 3], bs)                # its decode beside a prompt
    q = torch.randn(4, H, D, generator=gen)
    k, v = torch.cat([full_k[0][5:], full_k[1]]), torch.cat([full_v[0][5:], full_v[1]])
    out = layer(q, k, v, md).view(4, H, D)
    assert calls == ["prefill"]
    torch.testing.assert_close(out[:1], naive_attention(q[:1], full_k[0], full_v[0]).float())
    torch.testing.assert_close(out[1:], naive_attention(q[1:], full_k[1], full_v[1]).float())
    layer(q[:2], k[:2], v[:2], paged_metadata(tables, [6, 1], [1, 1], bs))
    assert calls == ["prefill", "decode"]


def test_write_kv_skips_negative_slots() -> None:
    """A slot < 0 marks a token whose K/V are already cached: nothing is written for it (the
    Triton kernel's rule too)."""
    k_cache, v_cache = torch.zeros(2, 2, 1, 4), torch.zeros(2, 2, 1, 4)
    k, v = torch.ones(3, 1, 4), 2 * torch.ones(3, 1, 4)
    md = paged_metadata([[1, 0]], [3], [3], 2)
    md.slot_mapping = torch.tensor([3, -1, 0])
    torch_ref.write_kv(k_cache, v_cache, k, v, md)
    flat_k, flat_v = k_cache.view(4, 1, 4), v_cache.view(4, 1, 4)
    assert flat_k[:, 0, 0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert flat_v[:, 0, 0].tolist() == [2.0, 0.0, 0.0, 2.0]
