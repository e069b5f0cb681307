"""Tensor-parallel layers: at TP=2 each rank's output equals its part of the dense result.

Two processes join a gloo group; each builds every parallel layer, loads its shard from the same
full (seeded) tensors, runs the same input and compares with the dense layer computed in the same
process. One spawn runs every check (a process pair costs seconds to start); each check is a test
of its own, and a failure shows the failing rank's traceback. Shapes are ragged: 7 tokens, hidden
13, vocab 51 (which two ranks share only with a padding row). Without a process group (TP=1)
every layer computes exactly what its dense twin computes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from folovllm.distributed import parallel_state as ps
from folovllm.model_executor.layers import linear as linear_mod
from folovllm.model_executor.layers import vocab_parallel_embedding as vocab_mod
from folovllm.model_executor.layers.linear import (
    ColumnParallelLinear,
    Linear,
    MergedColumnParallelLinear,
    MergedLinear,
    QKVLinear,
    QKVParallelLinear,
    RowParallelLinear,
    linear,
)
from folovllm.model_executor.layers.vocab_parallel_embedding import (
    ParallelLMHead,
    VocabParallelEmbedding,
)

M = TypeVar("M", bound=nn.Module)
WORLD = 2
TIMEOUT_S = 90.0        # a hung collective fails the tests instead of blocking the suite
TOL = {"rtol": 1.3e-6, "atol": 1e-5}  # float32 rounding: the sums run in another order
T, H, VOCAB = 7, 13, 51
HEAD_DIM, NUM_HEADS = 3, 4


def full(*shape: int, seed: int) -> torch.Tensor:
    """A full checkpoint tensor: the same on every rank, from its seed."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def cols(t: torch.Tensor, rank: int, n: int) -> torch.Tensor:
    """Rank ``rank``'s block of ``n`` columns."""
    return t[:, rank * n:(rank + 1) * n]


def blank(layer: M) -> M:
    """The layer with NaN in every parameter: a row that its loader misses shows in the output."""
    for p in layer.parameters():
        p.data.fill_(float("nan"))
    return layer


def load(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None = None,
         shard_id: str | int | None = None) -> None:
    layer.weight_loader(layer.weight, weight, shard_id)
    if bias is not None:
        layer.weight_loader(layer.bias, bias, shard_id)


# --- the checks each rank runs ------------------------------------------------------------

def check_column(rank: int) -> None:
    w, b, x = full(10, H, seed=1), full(10, seed=2), full(T, H, seed=3)
    dense = linear(x, w, b)
    for gather in (False, True):
        layer = blank(ColumnParallelLinear(H, 10, bias=True, gather_output=gather))
        load(layer, w, b)
        assert layer.weight.shape == (5, H)
        torch.testing.assert_close(layer(x), dense if gather else cols(dense, rank, 5), **TOL)


def check_merged(rank: int) -> None:
    """Gate (6 rows) and up (10 rows) are split one by one: gate shard r, then up shard r."""
    gate, up, x = full(6, H, seed=4), full(10, H, seed=5), full(T, H, seed=6)
    bg, bu = full(6, seed=7), full(10, seed=8)
    layer = blank(MergedColumnParallelLinear(H, [6, 10], bias=True))
    load(layer, gate, bg, 0)
    load(layer, up, bu, 1)
    expected = torch.cat([cols(linear(x, gate, bg), rank, 3), cols(linear(x, up, bu), rank, 5)], -1)
    torch.testing.assert_close(layer(x), expected, **TOL)


def check_qkv(rank: int, num_kv_heads: int, kv_head_of_rank: dict[int, int]) -> None:
    """4 query heads: 2 per rank. Each rank holds one KV head: its own (2 KV heads) or the only
    one, replicated (1 KV head)."""
    wq, bq = full(NUM_HEADS * HEAD_DIM, H, seed=9), full(NUM_HEADS * HEAD_DIM, seed=10)
    wk, bk = full(num_kv_heads * HEAD_DIM, H, seed=11), full(num_kv_heads * HEAD_DIM, seed=12)
    wv, bv = full(num_kv_heads * HEAD_DIM, H, seed=13), full(num_kv_heads * HEAD_DIM, seed=14)
    x = full(T, H, seed=15)
    layer = blank(QKVParallelLinear(H, HEAD_DIM, NUM_HEADS, num_kv_heads, bias=True))
    for shard, w, b in (("q", wq, bq), ("k", wk, bk), ("v", wv, bv)):
        load(layer, w, b, shard)
    assert (layer.num_heads, layer.num_kv_heads) == (NUM_HEADS // WORLD, 1)
    assert layer.num_kv_head_replicas == WORLD // num_kv_heads
    assert (layer.q_size, layer.kv_size) == (2 * HEAD_DIM, HEAD_DIM)
    q, k, v = layer(x).split([layer.q_size, layer.kv_size, layer.kv_size], dim=-1)
    head = kv_head_of_rank[rank]
    torch.testing.assert_close(q, cols(linear(x, wq, bq), rank, 2 * HEAD_DIM), **TOL)
    torch.testing.assert_close(k, cols(linear(x, wk, bk), head, HEAD_DIM), **TOL)
    torch.testing.assert_close(v, cols(linear(x, wv, bv), head, HEAD_DIM), **TOL)


def check_row(rank: int) -> None:
    w, b, x = full(H, 10, seed=16), full(H, seed=17), full(T, 10, seed=18)
    dense = linear(x, w, b)
    layer = blank(RowParallelLinear(10, H, bias=True))
    load(layer, w, b)
    assert layer.weight.shape == (H, 5) and layer.bias.shape == (H,)
    torch.testing.assert_close(layer(cols(x, rank, 5)), dense, **TOL)
    whole_input = blank(RowParallelLinear(10, H, bias=True, input_is_parallel=False))
    load(whole_input, w, b)
    torch.testing.assert_close(whole_input(x), dense, **TOL)
    partial = blank(RowParallelLinear(10, H, bias=True, reduce_results=False))
    load(partial, w, b)
    torch.testing.assert_close(ps.tensor_model_parallel_all_reduce(partial(cols(x, rank, 5))),
                               dense, **TOL)


def check_embedding(rank: int) -> None:
    """Ids on both sides of the boundary (25 | 26) and the last one (50, on the padded rank)."""
    table, ids = full(VOCAB, H, seed=19), torch.tensor([0, 25, 26, 50, 3, 49, 25])
    layer = blank(VocabParallelEmbedding(VOCAB, H))
    load(layer, table)
    assert (layer.vocab_start, layer.vocab_end) == ((0, 26), (26, 51))[rank]
    assert layer.weight.shape == (26, H)
    assert rank == 0 or not layer.weight[-1].any()       # rank 1's padding row is zeros
    assert torch.equal(layer(ids), nn.functional.embedding(ids, table))  # zeros add exactly


def check_lm_head(rank: int) -> None:
    table, hidden = full(VOCAB, H, seed=20), full(T, H, seed=21)
    head = blank(ParallelLMHead(VOCAB, H))
    load(head, table)
    logits = head(hidden)
    if rank == 0:
        torch.testing.assert_close(logits, linear(hidden, table), **TOL)
    else:
        assert logits is None


def check_tied_lm_head(rank: int) -> None:
    """The LM head shares the embedding's shard: loading the embedding loads both."""
    table, hidden, ids = full(VOCAB, H, seed=22), full(T, H, seed=23), torch.tensor([1, 50, 30])
    embed, head = blank(VocabParallelEmbedding(VOCAB, H)), ParallelLMHead(VOCAB, H)
    head.weight = embed.weight
    load(embed, table)
    assert torch.equal(embed(ids), table[ids])
    logits = head(hidden)
    if rank == 0:
        torch.testing.assert_close(logits, linear(hidden, table), **TOL)
    else:
        assert logits is None


def check_collectives(rank: int) -> None:
    x = torch.full((2, 3), float(rank + 1))
    assert torch.equal(ps.tensor_model_parallel_all_reduce(x.clone()), torch.full((2, 3), 3.0))
    gathered = ps.tensor_model_parallel_all_gather(x, dim=0)
    assert torch.equal(gathered, torch.cat([torch.ones(2, 3), torch.full((2, 3), 2.0)]))
    on_one = ps.tensor_model_parallel_gather(x, dst=1, dim=-1)
    if rank == 1:
        assert torch.equal(on_one, torch.cat([torch.ones(2, 3), torch.full((2, 3), 2.0)], -1))
    else:
        assert on_one is None
    assert (ps.get_tp_rank(), ps.get_tp_world_size()) == (rank, WORLD)


def check_divisibility_errors(rank: int) -> None:
    cases: list[tuple[Callable[[], nn.Module], str]] = [
        (lambda: ColumnParallelLinear(H, 9), "output_size=9 is not divisible by "
                                             "tensor_parallel_size=2"),
        (lambda: MergedColumnParallelLinear(H, [6, 9]), "output_sizes[1]=9 is not divisible"),
        (lambda: RowParallelLinear(9, H), "input_size=9 is not divisible by "
                                          "tensor_parallel_size=2"),
        (lambda: QKVParallelLinear(H, 3, 9, 1), "num_heads=9 is not divisible by "
                                                "tensor_parallel_size=2"),
        (lambda: QKVParallelLinear(H, 3, 6, 3), "num_kv_heads=3 is not divisible by "
                                                "tensor_parallel_size=2"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError) as info:
            build()
        assert message in str(info.value)


CHECKS: dict[str, Callable[[int], None]] = {
    "column": check_column,
    "merged": check_merged,
    "qkv_one_kv_head_replicated": lambda r: check_qkv(r, 1, {0: 0, 1: 0}),
    "qkv_two_kv_heads_split": lambda r: check_qkv(r, 2, {0: 0, 1: 1}),
    "row": check_row,
    "embedding": check_embedding,
    "lm_head": check_lm_head,
    "tied_lm_head": check_tied_lm_head,
    "collectives": check_collectives,
    "divisibility_errors": check_divisibility_errors,
}


def _rank_main(rank: int, init_method: str, out_dir: str) -> None:
    """One rank: run the checks in order, writing down each one that passes.

    The first failure ends the rank (the other one may be waiting for it in a collective, and
    is then stopped), so the checks after it count as failed too.
    """
    ps.init_distributed(WORLD, rank, init_method, "gloo")
    passed = []
    for name, check in CHECKS.items():
        check(rank)
        passed.append(name)
        (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(passed))
    ps.destroy_distributed()


@dataclass
class Tp2Run:
    """What the two ranks report back."""

    passed: list[set[str]]   # per rank, the checks that passed
    error: str               # why the run stopped early ("" if it did not)


@pytest.fixture(scope="module")
def tp2_run(tmp_path_factory: pytest.TempPathFactory) -> Tp2Run:
    """Run the checks on two gloo ranks, each within ``TIMEOUT_S`` seconds."""
    out = tmp_path_factory.mktemp("tp2")
    ctx = mp.start_processes(_rank_main, args=(f"file://{out / 'rendezvous'}", str(out)),
                             nprocs=WORLD, join=False, start_method="spawn")
    deadline, error = time.monotonic() + TIMEOUT_S, ""
    try:
        while not ctx.join(timeout=max(deadline - time.monotonic(), 0.0), grace_period=1.0):
            if time.monotonic() >= deadline:
                error = f"the {WORLD} ranks did not finish within {TIMEOUT_S:.0f} s"
                break
    except (mp.ProcessRaisedException, mp.ProcessExitedException) as exc:  # names the check
        error = str(exc)
    for process in ctx.processes:
        process.kill()
        process.join()
    files = [out / f"rank{r}.json" for r in range(WORLD)]
    return Tp2Run([set(json.loads(f.read_text())) if f.exists() else set() for f in files], error)


@pytest.mark.parametrize("check", list(CHECKS))
def test_tp2_rank_matches_dense(tp2_run: Tp2Run, check: str) -> None:
    assert all(check in passed for passed in tp2_run.passed), tp2_run.error


# --- TP=1: no process group, exactly the dense layers ------------------------------------

def test_tp1_needs_no_group_and_collectives_pass_through() -> None:
    x = torch.randn(2, 3)
    assert (ps.get_tp_rank(), ps.get_tp_world_size()) == (0, 1)
    assert ps.tensor_model_parallel_all_reduce(x) is x
    assert ps.tensor_model_parallel_all_gather(x) is x
    assert ps.tensor_model_parallel_gather(x) is x
    with pytest.raises(ValueError, match=r"rank=2 is invalid: it must be in \[0, world_size=2\)"):
        ps.init_distributed(2, 2, "tcp://127.0.0.1:1", "gloo")  # refused before any connection
    ps.destroy_distributed()  # nothing to leave: a no-op


def test_tp1_layers_compute_exactly_the_dense_layers() -> None:
    x, ids = full(T, H, seed=30), torch.tensor([0, 50, 7])
    column, dense = blank(ColumnParallelLinear(H, 10, bias=True)), Linear(H, 10, bias=True)
    dense.load_state_dict({"weight": full(10, H, seed=44), "bias": full(10, seed=45)})
    load(column, dense.weight.data, dense.bias.data)
    assert torch.equal(column(x), dense(x))

    merged = blank(MergedColumnParallelLinear(H, [6, 6], bias=True))
    dense_merged = MergedLinear(H, 6, bias=True)
    for i, name in enumerate(("gate", "up")):
        w, b = full(6, H, seed=31 + i), full(6, seed=33 + i)
        load(merged, w, b, i)
        load(dense_merged, w, b, name)
    assert torch.equal(merged(x), dense_merged(x))

    qkv, dense_qkv = blank(QKVParallelLinear(H, 3, 4, 2, True)), QKVLinear(H, 3, 4, 2, True)
    for i, name in enumerate("qkv"):
        rows = 12 if name == "q" else 6
        w, b = full(rows, H, seed=35 + i), full(rows, seed=38 + i)
        load(qkv, w, b, name)
        load(dense_qkv, w, b, name)
    assert torch.equal(qkv(x), dense_qkv(x))
    assert (qkv.q_size, qkv.kv_size) == (dense_qkv.q_size, dense_qkv.kv_size)

    row, dense_row = blank(RowParallelLinear(10, H, bias=True)), Linear(10, H, bias=True)
    dense_row.load_state_dict({"weight": full(H, 10, seed=46), "bias": full(H, seed=47)})
    load(row, dense_row.weight.data, dense_row.bias.data)
    assert torch.equal(row(x[:, :10]), dense_row(x[:, :10]))

    embed, dense_embed = blank(VocabParallelEmbedding(VOCAB, H)), nn.Embedding(VOCAB, H)
    dense_embed.load_state_dict({"weight": full(VOCAB, H, seed=48)})
    load(embed, dense_embed.weight.data)
    assert torch.equal(embed(ids), dense_embed(ids))

    head, dense_head = blank(ParallelLMHead(VOCAB, H)), Linear(H, VOCAB, bias=False)
    dense_head.load_state_dict({"weight": full(VOCAB, H, seed=49)})
    load(head, dense_head.weight.data)
    assert torch.equal(head(x), dense_head(x))


def test_weight_loaders_refuse_a_wrong_full_shape() -> None:
    with pytest.raises(ValueError, match="checkpoint tensor for 'k' has 9 rows, expected 6"):
        layer = QKVParallelLinear(H, 3, 4, 2)
        layer.weight_loader(layer.weight, torch.zeros(9, H), "k")
    with pytest.raises(ValueError, match=r"has shape \(13, 9\), expected \(13, 10\)"):
        row = RowParallelLinear(10, H)
        row.weight_loader(row.weight, torch.zeros(H, 9))
    with pytest.raises(ValueError, match=r"has shape \(50, 13\), expected \(51, 13\)"):
        embed = VocabParallelEmbedding(VOCAB, H)
        embed.weight_loader(embed.weight, torch.zeros(50, H))


# --- TP=4 layouts, built without a group (construction and loading need none) ----------

@pytest.fixture
def rank_3_of_4(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (linear_mod, vocab_mod):
        monkeypatch.setattr(module, "get_tp_rank", lambda: 3)
        monkeypatch.setattr(module, "get_tp_world_size", lambda: 4)


@pytest.mark.usefixtures("rank_3_of_4")
def test_tp4_layouts_of_the_last_rank() -> None:
    """8 query heads and 2 KV heads on 4 ranks: each KV head is on 2 ranks; rank 3 holds query
    heads 6-7 and KV head 1. Vocab 51 on 4 ranks: 13 rows each, rank 3's last one padding."""
    wq, wk, wv = full(8 * 3, H, seed=40), full(2 * 3, H, seed=41), full(2 * 3, H, seed=42)
    qkv = blank(QKVParallelLinear(H, 3, 8, 2))
    for name, w in (("q", wq), ("k", wk), ("v", wv)):
        load(qkv, w, None, name)
    assert (qkv.num_heads, qkv.num_kv_heads, qkv.num_kv_head_replicas) == (2, 1, 2)
    assert torch.equal(qkv.weight, torch.cat([wq[18:24], wk[3:6], wv[3:6]]))
    with pytest.raises(ValueError, match="tensor_parallel_size=4 is not divisible by "
                                         "num_kv_heads=3"):
        QKVParallelLinear(H, 3, 12, 3)

    table = full(VOCAB, H, seed=43)
    embed = blank(VocabParallelEmbedding(VOCAB, H))
    load(embed, table)
    assert (embed.vocab_start, embed.vocab_end, embed.weight.shape[0]) == (39, 51, 13)
    assert torch.equal(embed.weight[:12], table[39:]) and not embed.weight[12].any()
