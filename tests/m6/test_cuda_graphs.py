"""M6 on the CPU: which steps replay a graph, how a batch is padded to a captured size, the
settings that turn graphs on and off, and the kernels' answers for padded rows (under the
Triton interpreter). The graphs themselves need CUDA: tests/gpu/test_m6_gpu.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from folovllm import SamplingParams
from folovllm.attention.backends import torch_ref, triton_attn
from folovllm.benchmarks.workload import check_engines
from folovllm.config import EngineArgs, default_cuda_graph_sizes
from folovllm.engine.llm_engine import LLMEngine
from folovllm.worker.cuda_graph import CUDAGraphRunner
from tests.conftest import REPO


def _engine_config(model_dir, **kw):
    return EngineArgs.from_kwargs(model=str(model_dir), **kw).create_engine_config()


def test_cuda_graphs_are_asked_for_only_where_they_exist(tiny_model_dirs) -> None:
    """Unset, enforce_eager resolves to what runs: eager on CPU (no graphs to capture). Asking
    for graphs where there are none, or for graph sizes that nothing captures, is an error."""
    llama = tiny_model_dirs["llama"]
    cfg = _engine_config(llama, device="cpu")
    assert cfg.model_config.enforce_eager is True and cfg.scheduler_config.cuda_graph_sizes == []
    with pytest.raises(ValueError, match="enforce_eager=False is invalid: CUDA graphs need "
                                         "device='cuda'"):
        _engine_config(llama, device="cpu", enforce_eager=False)
    with pytest.raises(ValueError, match=r"cuda_graph_sizes=\[1, 2\] is invalid: every step "
                                         "runs eagerly"):
        _engine_config(llama, device="cpu", cuda_graph_sizes=[1, 2])
    for bad in ([], [0], [5], [1, "2"], 4, [True]):
        with pytest.raises(ValueError, match="cuda_graph_sizes=.* is invalid"):
            _engine_config(llama, device="cpu", max_num_seqs=4, cuda_graph_sizes=bad)
    with pytest.raises(ValueError, match="enforce_eager='no' is invalid"):
        _engine_config(llama, device="cpu", enforce_eager="no")


def test_default_cuda_graph_sizes_cover_every_batch_with_little_padding() -> None:
    assert default_cuda_graph_sizes(1) == [1]
    assert default_cuda_graph_sizes(13) == [1, 2, 4, 8, 13]
    sizes = default_cuda_graph_sizes(256)
    assert sizes[:5] == [1, 2, 4, 8, 16] and sizes[-1] == 256 and len(sizes) == 35
    assert default_cuda_graph_sizes(300)[-3:] == [272, 288, 300]
    for top in (1, 13, 256, 300, 512):   # every batch size has a graph, padded by < 16 rows
        graphs = CUDAGraphRunner(default_cuda_graph_sizes(top), 4, torch.float32,
                                 torch.device("cpu"))
        for n in range(1, top + 1):
            assert 0 <= graphs.padded_size(n) - n < (16 if n > 256 else 8)


def test_padded_size_is_the_smallest_captured_size_that_holds_the_batch() -> None:
    graphs = CUDAGraphRunner([8, 1, 4, 2], 4, torch.float32, torch.device("cpu"))
    assert graphs.sizes == [1, 2, 4, 8] and tuple(graphs.hidden.shape) == (8, 4)
    assert [graphs.padded_size(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, None]


@pytest.fixture
def decoding(tiny_model_dirs) -> LLMEngine:
    """An engine whose three sequences have finished their prefill: the next step decodes."""
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        max_num_seqs=8, block_size=4, skip_tokenizer_init=True)
    for n in (5, 9, 2):
        engine.add_request({"prompt_token_ids": list(range(3, 3 + n))},
                           SamplingParams(temperature=0, max_tokens=4, ignore_eos=True))
    engine.step()
    yield engine
    while engine.has_unfinished_requests():
        engine.step()


def test_only_a_step_of_one_token_queries_replays_a_graph(decoding) -> None:
    runner = decoding.runner
    assert runner.cuda_graphs is None and runner._graph_size(np.array([1, 1, 1])) is None
    runner.cuda_graphs = CUDAGraphRunner([1, 2, 4, 8], 4, torch.float32, runner.device)
    try:
        assert runner._graph_size(np.array([1, 1, 1])) == 4      # decodes: padded to 4
        assert runner._graph_size(np.array([1] * 8)) == 8
        assert runner._graph_size(np.array([1] * 9)) is None     # larger than every graph
        assert runner._graph_size(np.array([1, 7, 1])) is None   # a prompt chunk: eager
    finally:
        runner.cuda_graphs = None


def test_padding_rows_are_empty_sequences(decoding) -> None:
    """A decode batch of 3 padded to 8: the real rows are exactly as unpadded; each padding row
    is one token that stores nothing (slot -1) and attends to nothing (length 0)."""
    runner, batch = decoding.runner, decoding.runner.input_batch
    rows = np.array(sorted(batch.row_of.values()), dtype=np.int64)
    ones = np.ones(len(rows), dtype=np.int64)
    batch.num_computed_tokens[rows] = batch.num_tokens[rows] - 1   # as the next step says
    ids, md, samples = runner._prepare_inputs(rows, ones)
    plain = {k: v.clone() for k, v in (("ids", ids), ("pos", md.positions),
                                       ("slots", md.slot_mapping), ("lens", md.seq_lens),
                                       ("tables", md.block_tables))}
    ids, md, padded_samples = runner._prepare_inputs(rows, ones, num_padded=8)
    assert samples.tolist() == padded_samples.tolist() == [True] * 3
    assert torch.equal(ids[:3], plain["ids"]) and ids[3:].tolist() == [0] * 5
    assert torch.equal(md.positions[:3], plain["pos"]) and md.positions[3:].tolist() == [0] * 5
    assert torch.equal(md.slot_mapping[:3], plain["slots"])
    assert md.slot_mapping[3:].tolist() == [-1] * 5
    assert torch.equal(md.seq_lens[:3], plain["lens"]) and md.seq_lens[3:].tolist() == [0] * 5
    assert md.query_start_loc.tolist() == list(range(9)) == md.query_start_loc_host
    assert torch.equal(md.block_tables[:3], plain["tables"])
    assert not md.block_tables[3:].any() and md.block_tables.shape[0] == 8
    assert md.seq_lens_host == plain["lens"].tolist() + [0] * 5 and md.max_query_len == 1


def test_only_a_backend_that_reads_whole_blocks_gets_them_zeroed(decoding) -> None:
    runner = decoding.runner
    assert torch_ref.READS_WHOLE_BLOCKS and not triton_attn.READS_WHOLE_BLOCKS
    assert not torch_ref.SUPPORTS_CUDA_GRAPHS and triton_attn.SUPPORTS_CUDA_GRAPHS
    fresh = [b for b in range(runner.num_blocks) if not runner._zeroed[b]][:2]
    backend, runner.attn_backend = runner.attn_backend, triton_attn
    try:
        runner._zero_new_blocks(fresh)
        assert not runner._zeroed[fresh].any()      # Triton: nothing to zero
    finally:
        runner.attn_backend = backend
    runner._zero_new_blocks(fresh)
    assert runner._zeroed[fresh].all()


def test_the_eager_engine_is_a_bench_engine() -> None:
    check_engines(["folovllm", "folovllm-eager", "transformers"])   # raises on an unknown one
    with pytest.raises(ValueError, match="engine='folovllm-graphs' is invalid"):
        check_engines(["folovllm-graphs"])


_PADDED_DECODE = textwrap.dedent("""
    import torch
    from folovllm.attention.backends.triton_attn import paged_decode, store_kvcache
    torch.manual_seed(0)
    H, Hk, D, B = 4, 2, 16, 4
    k_cache = torch.randn(24, B, Hk, D)
    v_cache = torch.randn(24, B, Hk, D)
    lens = torch.tensor([7, 30, 13], dtype=torch.int32)
    tables = torch.randperm(24).view(3, 8).int()
    q = torch.randn(3, H, D)
    # padded to 8 rows: length 0, an empty table row, any query
    q8 = torch.cat([q, torch.randn(5, H, D)])
    lens8 = torch.cat([lens, torch.zeros(5, dtype=torch.int32)])
    tables8 = torch.cat([tables, torch.zeros(5, 8, dtype=torch.int32)])
    for splits in (1, 4):   # 4: most splits of a short context are empty
        alone = paged_decode(q, k_cache, v_cache, tables, lens, 30, 0.25, num_splits=splits)
        padded = paged_decode(q8, k_cache, v_cache, tables8, lens8, 30, 0.25, num_splits=splits)
        assert torch.equal(padded[:3], alone), splits
        assert torch.isfinite(padded).all() and not padded[3:].any(), splits
    one = paged_decode(q, k_cache, v_cache, tables, lens, 30, 0.25, num_splits=1)
    four = paged_decode(q, k_cache, v_cache, tables, lens, 30, 0.25, num_splits=4)
    torch.testing.assert_close(one, four, rtol=1e-5, atol=1e-6)
    before = k_cache.clone()
    store_kvcache(k_cache, v_cache, torch.randn(2, Hk, D), torch.randn(2, Hk, D),
                  torch.tensor([-1, -1]))
    assert torch.equal(k_cache, before)   # a padding row's slot -1 stores nothing
    print("ok")
""")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU (on a GPU, "
                    "tests/gpu/test_m6_gpu.py runs the compiled kernels in graphs)")
def test_padded_rows_leave_the_real_rows_answers_unchanged() -> None:
    """The decode kernel, interpreted: rows padded onto a batch change no real row's output
    (bit for bit, whatever the split count), compute zeros themselves, and store nothing; a
    graph's fixed split count gives the eager count's answer to rounding."""
    child = subprocess.run([sys.executable, "-c", _PADDED_DECODE], cwd=REPO, timeout=300,
                           env={**os.environ, "TRITON_INTERPRET": "1"}, capture_output=True,
                           text=True)
    assert child.returncode == 0 and child.stdout.strip() == "ok", child.stderr[-3000:]
