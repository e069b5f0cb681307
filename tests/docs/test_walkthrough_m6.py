"""The claims of the M6 walkthrough, checked on the programs it shows: a decode step padded to
a captured size (the inputs a replay reads, prepared on the CPU), and the configuration's
rules for enforce_eager and cuda_graph_sizes."""

from __future__ import annotations

import torch

from folovllm.worker.cuda_graph import CUDAGraphRunner
from tests.docs.docs_tools import run_program


def test_padded_size_is_the_smallest_captured_size_at_least_the_batch() -> None:
    graphs = CUDAGraphRunner([8, 1, 4, 2], 16, torch.float32, torch.device("cpu"))
    assert graphs.sizes == [1, 2, 4, 8] and graphs.hidden.shape == (8, 16)
    assert [graphs.padded_size(n) for n in range(1, 10)] == [1, 2, 4, 4, 8, 8, 8, 8, None]
    assert graphs.graphs == {} and graphs.num_replays == 0   # nothing captured on a CPU


def test_a_padded_decode_step() -> None:
    run = run_program("docs/snippets/m6/walkthrough_pad.py")
    ns, out = run.namespace, run.stdout
    assert ns["size"] == 4 and len(ns["rows"]) == 3
    md = ns["md"]
    # the padding row: token 0, position 0, no slot, no context, one query token
    assert ns["ids"].tolist()[3] == 0 and md.positions.tolist()[3] == 0
    assert md.slot_mapping.tolist()[3] == -1 and md.seq_lens.tolist()[3] == 0
    assert md.query_start_loc.tolist() == [0, 1, 2, 3, 4]
    # the real rows: the position after each prompt (5, 9, 3) and its slot in the block table
    assert md.positions.tolist()[:3] == [5, 9, 3] and md.seq_lens.tolist()[:3] == [6, 10, 4]
    tables = md.block_tables.tolist()
    for i, pos in enumerate([5, 9, 3]):
        assert md.slot_mapping.tolist()[i] == tables[i][pos // 4] * 4 + pos % 4
    assert len(tables[0]) == 3 and tables[3] == [0, 0, 0]
    assert ns["samples"].tolist() == [True, True, True]
    assert "sizes [1, 2, 4, 8]: a batch of 3 replays the graph of 4" in out
    assert "slot_mapping [5, 17, 23, -1]" in out


def test_the_configuration_rules() -> None:
    run = run_program("docs/snippets/m6/walkthrough_config.py")
    assert run.namespace["c"].model_config.enforce_eager is True
    assert run.namespace["c"].scheduler_config.cuda_graph_sizes == []
    out = run.stdout
    assert "enforce_eager=False is invalid" in out
    assert "cuda_graph_sizes=[1, 2, 4] is invalid" in out
    assert "cuda_graph_sizes=[4, 16] is invalid" in out


def test_the_async_section_names_real_code() -> None:
    """The names the async section reads exist where it says, and the engine queues with
    non_block=True."""
    import inspect

    from folovllm.core.scheduler import ScheduledSeq, Scheduler
    from folovllm.engine.llm_engine import LLMEngine
    from folovllm.worker.input_batch import InputBatch
    from folovllm.worker.model_runner import AsyncModelRunnerOutput, ModelRunner

    assert {"num_inflight_tokens", "num_output_placeholders"} <= set(
        ScheduledSeq.__dataclass_fields__)
    assert hasattr(Scheduler, "_finishes_in_flight") and hasattr(Scheduler, "_failed_requests")
    assert hasattr(InputBatch, "reserve_sampled")
    for name in ("_feed_sampled", "_launched", "_finish", "_execute_one_by_one"):
        assert hasattr(ModelRunner, name), name
    assert hasattr(AsyncModelRunnerOutput, "get_output")
    assert "self._run(sched)" in inspect.getsource(LLMEngine.step)
    assert "non_block=True" in inspect.getsource(LLMEngine._run)
