"""AttentionMetadata built from plain lists, as the model runner builds it."""

import torch

from folovllm.attention.backends.torch_ref import write_kv
from folovllm.attention.metadata import AttentionMetadata

MAX_LEN = 8  # tokens per slot (max_model_len)
T, H, Hk, D = 6, 4, 2, 16  # the example: tokens, query heads, KV heads, dims


def metadata(slot_ids, seq_lens, token_slot_ids, positions,
             starts) -> AttentionMetadata:
    """AttentionMetadata from lists, as the model runner builds it.

    Since M3 the cache is paged; an M2 slot is one block of MAX_LEN tokens:
    a block table is [slot], a token goes to slot * MAX_LEN + position."""
    def t(xs, dtype=torch.int32):
        return torch.tensor(xs, dtype=dtype)

    slots = [s * MAX_LEN + p for s, p in zip(token_slot_ids, positions)]
    return AttentionMetadata(
        positions=t(positions, torch.long),
        slot_mapping=t(slots, torch.long), seq_lens=t(seq_lens),
        block_tables=t([[s] for s in slot_ids]), query_start_loc=t(starts),
        query_start_loc_host=starts, seq_lens_host=seq_lens,
        max_query_len=max(e - s for s, e in zip(starts, starts[1:])),
        max_seq_len=max(seq_lens))


def example_prefill() -> tuple:
    """A prefill of three prompts (3, 1 and 2 tokens) going to slots 2, 0
    and 1: its metadata, q, k, v and the slot caches with its K/V written."""
    torch.manual_seed(0)
    md = metadata(slot_ids=[2, 0, 1], seq_lens=[3, 1, 2],
                  token_slot_ids=[2, 2, 2, 0, 1, 1],  # each token's slot
                  positions=[0, 1, 2, 0, 0, 1],  # each token's position
                  starts=[0, 3, 4, 6])  # query_start_loc: S + 1 offsets
    q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)
    # write_kv: each token to (its slot, its position) of [slots, len, Hk, D].
    k_cache = torch.zeros(3, MAX_LEN, Hk, D)
    v_cache = torch.zeros(3, MAX_LEN, Hk, D)
    write_kv(k_cache, v_cache, k, v, md)
    return md, q, k, v, k_cache, v_cache
