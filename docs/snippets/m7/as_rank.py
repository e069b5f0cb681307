"""Build the parallel layers as rank r of n would, in one process: the
layers read their rank and world size when they are built, so these two
functions are swapped for the duration. Building and loading need no
process group; only forward's collectives do."""

from contextlib import contextmanager
from unittest import mock

from folovllm.model_executor.layers import linear, vocab_parallel_embedding


@contextmanager
def as_rank(rank: int, world: int):
    with mock.patch.multiple(linear, get_tp_rank=lambda: rank,
                             get_tp_world_size=lambda: world), \
         mock.patch.multiple(vocab_parallel_embedding,
                             get_tp_rank=lambda: rank,
                             get_tp_world_size=lambda: world):
        yield
