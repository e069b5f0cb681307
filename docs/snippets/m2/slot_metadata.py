"""AttentionMetadata built from plain lists, as the model runner builds it."""

import torch

from folovllm.attention.metadata import AttentionMetadata

MAX_LEN = 8  # tokens per slot (max_model_len)


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
