"""Attention metadata: what the attention layers need to know about the flat batch.

The model sees one flat run of tokens from many sequences (no padding). These tensors say which
sequence each token belongs to, where its K/V go in the paged cache (``slot_mapping``), which
physical blocks hold each sequence's context (``block_tables``) and how long that context is
(``seq_lens``), so that attention never mixes tokens of different sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


# --8<-- [start:metadata]
@dataclass
class AttentionMetadata:
    """One step's layout. ``S`` sequences, ``T`` tokens in the step, ``B`` blocks per table row.

    The K/V cache of a layer is ``[num_blocks, block_size, num_kv_heads, head_dim]``; the token
    at position ``p`` of a sequence lives in block ``block_table[p // block_size]`` at offset
    ``p % block_size``, i.e. at *slot* ``block_id * block_size + p % block_size``.

    A sequence's ``q_len`` new tokens are the last ``q_len`` of its ``seq_len`` context tokens:
    a whole prompt has ``q_len == seq_len``, a decoding sequence ``q_len == 1``, and a query
    after a cached prefix (M4) or a prompt chunk (M5) anything in between. There is no
    prefill/decode flag: the attention layer takes the decode kernel when every query is one
    token long (``max_query_len == 1``), and the varlen path, which serves any mix, otherwise.
    A step that mixes decodes with longer queries (M5) puts its decodes first (the runner
    orders them so): ``split_decodes`` describes the two runs apart, and the layer sends the
    decodes to the decode kernel, which splits long contexts across the GPU, and only the rest
    to the varlen path.
    """

    positions: torch.Tensor          # [T] int64, position of each token in its sequence
    slot_mapping: torch.Tensor       # [T] int64, cache slot each token's K/V are written to
    seq_lens: torch.Tensor           # [S] int32, context length of each sequence after the step
    block_tables: torch.Tensor       # [S, B] int32, physical block ids; unused entries are 0
    query_start_loc: torch.Tensor    # [S + 1] int32, offsets of each sequence's tokens in the batch
    query_start_loc_host: list[int]  # the same offsets on the host (Python loops, logits rows)
    seq_lens_host: list[int]         # the same lengths on the host
    max_query_len: int               # longest q_len in the step
    max_seq_len: int                 # longest seq_len in the step
    num_decodes: int = 0             # leading sequences with one query each, in a mixed step
    decodes: AttentionMetadata | None = None    # those sequences alone (set by split_decodes)
    prefills: AttentionMetadata | None = None   # the rest alone, token offsets from 0
# --8<-- [end:metadata]

    # --8<-- [start:split_decodes]
    def split_decodes(self, num_decodes: int) -> AttentionMetadata:
        """This step with its first ``num_decodes`` sequences (one query each) described apart
        from the rest, made once a step, not once a layer. The decodes' part views the same
        tensors; the rest's per-sequence tensors are small copies: a view that starts
        mid-buffer can be misaligned, and Triton compiles a kernel anew for every alignment."""
        n, qsl, lens = num_decodes, self.query_start_loc_host, self.seq_lens_host
        self.num_decodes = n
        self.decodes = AttentionMetadata(
            self.positions[:n], self.slot_mapping[:n], self.seq_lens[:n], self.block_tables[:n],
            self.query_start_loc[:n + 1], qsl[:n + 1], lens[:n], 1, max(lens[:n]))
        self.prefills = AttentionMetadata(
            self.positions[n:], self.slot_mapping[n:], self.seq_lens[n:].clone(),
            self.block_tables[n:].clone(), self.query_start_loc[n:] - n,
            [x - n for x in qsl[n:]], lens[n:], self.max_query_len, max(lens[n:]))
        return self
    # --8<-- [end:split_decodes]
