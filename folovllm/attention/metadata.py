"""Attention metadata: what the attention layers need to know about the flat batch.

The model sees one flat run of tokens from many sequences (no padding). These tensors say which
sequence each token belongs to, where its K/V go in the cache and how much cached context each
sequence has, so that attention never mixes tokens of different sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class AttentionMetadata:
    """One step's layout, for a prefill step or a decode step (M2 never mixes the two).

    Shapes: ``S`` sequences, ``T`` tokens in the step.
    """

    is_prefill: bool
    slot_ids: torch.Tensor          # [S] KV-cache slot of each sequence
    seq_lens: torch.Tensor          # [S] tokens in each sequence's cache after this step
    token_slot_ids: torch.Tensor    # [T] slot of each token (where its K/V are written)
    positions: torch.Tensor         # [T] position of each token in its sequence
    query_start_loc: list[int]      # S + 1 offsets of each sequence's tokens in the flat batch
    max_seq_len: int                # max of seq_lens (how much of the cache decode must read)
    # (lowest, highest) slot of a decode step when they span at most 2 x S slots: decode then
    # attends over that window of the cache in place instead of copying the S slots out
    slot_window: tuple[int, int] | None = None
