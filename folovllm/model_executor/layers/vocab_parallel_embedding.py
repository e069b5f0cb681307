"""The embedding and the LM head, split over the ranks by vocabulary rows.

Both hold a ``[vocab, hidden]`` matrix, the largest of a small model (150k x 1024 for
Qwen3-0.6B), so each rank keeps a contiguous block of rows. The vocabulary is padded up to a
multiple of the number of ranks so that every block has the same size (NCCL and gloo collectives
want equal shapes on every rank); the padding rows are zeros and never reach the output.
"""

from __future__ import annotations

import torch
from torch import nn

from folovllm.distributed.parallel_state import (
    get_tp_rank,
    get_tp_world_size,
    tensor_model_parallel_all_reduce,
    tensor_model_parallel_gather,
)
from folovllm.model_executor.layers.linear import linear


class VocabParallelShard(nn.Module):
    """A ``[vocab, hidden]`` weight whose rows are split over the ranks: rank ``r`` holds rows
    ``[r * n, (r + 1) * n)`` of the padded vocabulary, ``n = ceil(vocab / tp)``; the real ones
    are ``[vocab_start, vocab_end)``, the rest padding."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.tp_rank, self.tp_size = get_tp_rank(), get_tp_world_size()
        self.num_embeddings = num_embeddings
        rows = -(-num_embeddings // self.tp_size)
        self.vocab_start = min(self.tp_rank * rows, num_embeddings)
        self.vocab_end = min(self.vocab_start + rows, num_embeddings)
        self.weight = nn.Parameter(torch.empty(rows, embedding_dim))

    def weight_loader(self, param: nn.Parameter, loaded: torch.Tensor,
                      shard_id: None = None) -> None:
        """Copy this rank's rows of the full ``[vocab, hidden]`` checkpoint tensor ``loaded``,
        and zero the padding rows."""
        expected = (self.num_embeddings, param.shape[1])
        if loaded.shape != expected:
            raise ValueError(f"checkpoint tensor has shape {tuple(loaded.shape)}, "
                             f"expected {expected}")
        real = self.vocab_end - self.vocab_start
        param.data[:real].copy_(loaded[self.vocab_start:self.vocab_end])
        param.data[real:].zero_()


# --8<-- [start:vocab_parallel]
class VocabParallelEmbedding(VocabParallelShard):
    """``nn.Embedding`` with its rows split over the ranks: each rank looks up the ids that fall
    in its block, writes zeros for the others, and an all-reduce sums the ranks' outputs, in which
    exactly one rank has a non-zero row for each id."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.tp_size == 1:
            return nn.functional.embedding(input_ids, self.weight)
        outside = (input_ids < self.vocab_start) | (input_ids >= self.vocab_end)
        local_ids = (input_ids - self.vocab_start).masked_fill(outside, 0)
        x = nn.functional.embedding(local_ids, self.weight)
        return tensor_model_parallel_all_reduce(x.masked_fill(outside.unsqueeze(-1), 0))


class ParallelLMHead(VocabParallelShard):
    """The LM head with its rows (vocabulary entries) split over the ranks: each rank computes
    the logits of its block, and they are gathered on rank 0, the rank that samples.

    Tied to the embedding, it shares the embedding's weight shard
    (``lm_head.weight = embed_tokens.weight``): both split the same rows the same way.
    """

    def forward(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """Logits ``[rows, vocab]`` on rank 0, ``None`` on the other ranks."""
        logits = tensor_model_parallel_gather(linear(hidden, self.weight))
        if logits is None or logits.shape[-1] == self.num_embeddings:
            return logits
        return logits[..., :self.num_embeddings]
# --8<-- [end:vocab_parallel]
