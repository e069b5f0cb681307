"""The runner's persistent state of every sequence it holds, one row each (vLLM v1's
``InputBatch``).

A sequence gets a row the first time it is scheduled and keeps it until it finishes (a preempted
sequence keeps its row and its random generator: it resumes where it stopped). Its token ids and
block table live in fixed numpy arrays, so a step's inputs are gathered with a few vectorised
index operations instead of being rebuilt from Python lists; the sampled tokens are written back
into the same arrays.

A sampled token takes its place in two moves: ``reserve_sampled`` when the step is launched (the
sequence is one token longer from then on, so the next step can be prepared at once) and
``write_sampled`` when its id reaches the host. With async scheduling the next step runs in
between, and its input for that place comes from the device (the runner's ``_feed_sampled``).
"""

from __future__ import annotations

import numpy as np
import torch

from folovllm.core.scheduler_output import CachedSeqData, NewSeqData
from folovllm.model_executor.layers.sampler import make_generator
from folovllm.sampling_params import SamplingParams


class InputBatch:
    def __init__(self, max_num_seqs: int, max_model_len: int, max_blocks_per_seq: int,
                 device: torch.device) -> None:
        self.device = device
        self.token_ids = np.zeros((max_num_seqs, max_model_len), dtype=np.int32)
        self.num_tokens = np.zeros(max_num_seqs, dtype=np.int64)
        self.num_prompt_tokens = np.zeros(max_num_seqs, dtype=np.int64)
        self.num_computed_tokens = np.zeros(max_num_seqs, dtype=np.int64)
        self.block_table = np.zeros((max_num_seqs, max_blocks_per_seq), dtype=np.int32)
        self.num_blocks = np.zeros(max_num_seqs, dtype=np.int64)
        self.row_of: dict[int, int] = {}      # seq id -> row
        self.free_rows = list(range(max_num_seqs - 1, -1, -1))
        self.request_ids: list[str | None] = [None] * max_num_seqs
        self.params: list[SamplingParams | None] = [None] * max_num_seqs
        self.generators: list[torch.Generator | None] = [None] * max_num_seqs
        # bumped when a row changes hands: a token that arrives for a row's former sequence
        # is not written into its new one
        self.row_version = np.zeros(max_num_seqs, dtype=np.int64)

    def add(self, new: NewSeqData) -> int:
        """Give a new sequence a row: its prompt, its blocks, its generator if seeded."""
        if not self.free_rows:
            raise RuntimeError(f"the runner holds {len(self.row_of)} sequences, its limit: "
                               "more than max_num_seqs unfinished sequences were scheduled")
        row = self.free_rows.pop()
        self.row_of[new.seq_id] = row
        self.row_version[row] += 1
        n = len(new.prompt_token_ids)
        self.token_ids[row, :n] = new.prompt_token_ids
        self.num_tokens[row] = self.num_prompt_tokens[row] = n
        self.num_computed_tokens[row] = new.num_computed_tokens
        self.num_blocks[row] = 0
        self.append_blocks(row, new.block_ids)
        self.request_ids[row] = new.request_id
        self.params[row] = params = new.sampling_params
        self.generators[row] = None if params.seed is None else make_generator(
            params.seed, new.seq_index, self.device)
        return row

    def update(self, cached: CachedSeqData) -> None:
        """Apply what changed for sequences already held: new blocks (or a whole new table for
        one resumed after a preemption) and the scheduler's ``num_computed_tokens``."""
        for seq_id, resumed, blocks, computed in zip(
                cached.seq_ids, cached.resumed_from_preemption, cached.new_block_ids,
                cached.num_computed_tokens):
            row = self.row_of[seq_id]
            if resumed:
                self.num_blocks[row] = 0
            self.append_blocks(row, blocks)
            self.num_computed_tokens[row] = computed

    def append_blocks(self, row: int, block_ids: list[int]) -> None:
        start = self.num_blocks[row]
        self.block_table[row, start:start + len(block_ids)] = block_ids
        self.num_blocks[row] = start + len(block_ids)

    def remove(self, seq_id: int) -> None:
        """Forget a finished sequence (ids the runner never saw are ignored)."""
        row = self.row_of.pop(seq_id, None)
        if row is None:
            return
        self.request_ids[row] = self.params[row] = self.generators[row] = None
        self.free_rows.append(row)

    # --8<-- [start:reserve]
    def reserve_sampled(self, rows: np.ndarray) -> np.ndarray:
        """A place after each row's last token for the token this step samples; returns the
        places and the rows' versions, for ``write_sampled``."""
        positions = self.num_tokens[rows].copy()
        self.num_tokens[rows] += 1
        return np.stack([positions, self.row_version[rows]])

    def write_sampled(self, rows: np.ndarray, reserved: np.ndarray, token_ids: np.ndarray
                      ) -> None:
        """The sampled ids into their reserved places, for the rows still held by the same
        sequences (one that finished meanwhile may have given its row to a new one)."""
        positions, versions = reserved
        same = self.row_version[rows] == versions
        self.token_ids[rows[same], positions[same]] = token_ids[same]
    # --8<-- [end:reserve]
