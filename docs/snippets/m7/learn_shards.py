"""What rank r of N holds: the parallel layers, built as that rank builds them.

The layers read their rank and the group size from get_tp_rank() and
get_tp_world_size(); here both are patched, so one process shows every
rank's shapes without starting a process group.
"""
from contextlib import contextmanager
from unittest import mock

from folovllm.model_executor.layers import linear, vocab_parallel_embedding

L, V = linear, vocab_parallel_embedding


@contextmanager
def as_rank(rank: int, world: int):
    """Build layers as rank ``rank`` of ``world`` would."""
    with mock.patch.multiple(L, get_tp_rank=lambda: rank,
                             get_tp_world_size=lambda: world), \
         mock.patch.multiple(V, get_tp_rank=lambda: rank,
                             get_tp_world_size=lambda: world):
        yield


def show(name: str, hidden: int, heads: int, kv: int, head_dim: int,
         inter: int, vocab: int, world: int) -> None:
    print(f"{name} at TP={world}")
    for r in range(world):
        with as_rank(r, world):
            qkv = L.QKVParallelLinear(hidden, head_dim, heads, kv)
            up = L.MergedColumnParallelLinear(hidden, [inter, inter])
            down = L.RowParallelLinear(inter, hidden)
            emb = V.VocabParallelEmbedding(vocab, hidden)
        k, pad = qkv.shards["k"], emb.weight.shape[0] - (
            emb.vocab_end - emb.vocab_start)
        print(f"  rank {r}: q heads {qkv.num_heads}, KV head "
              f"{k.start // k.size} of {kv}, vocab rows "
              f"{emb.vocab_start}-{emb.vocab_end - 1} (+{pad} padding)")
        print(f"          qkv {tuple(qkv.weight.shape)}, gate_up "
              f"{tuple(up.weight.shape)}, down {tuple(down.weight.shape)}")


# SmolLM2-135M, the default model: 9 heads, 3 KV heads
show("SmolLM2-135M", 576, 9, 3, 64, 1536, 49152, 3)
# a tiny Qwen3 with 1 KV head: each rank holds a copy of it
show("tiny qwen3", 64, 4, 1, 16, 128, 383, 2)
