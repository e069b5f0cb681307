"""The model runner's input path without a model: its persistent InputBatch
and step buffers, which is all `_prepare_inputs` reads to build a step."""

from types import SimpleNamespace

import numpy as np
import torch

from folovllm.core.kv_cache_manager import cdiv
from folovllm.worker.input_batch import InputBatch
from folovllm.worker.model_runner import ModelRunner


def bare_runner(block_size: int, max_len: int = 64) -> ModelRunner:
    """A ModelRunner for up to 4 sequences of `max_len` tokens; no model,
    no KV cache (``__new__`` skips loading them)."""
    runner = ModelRunner.__new__(ModelRunner)
    runner.device = torch.device("cpu")
    runner.block_size, runner.max_num_tokens = block_size, max_len
    runner.max_blocks_per_seq = cdiv(max_len, block_size)
    runner.cuda_graphs = None   # eager steps: no CUDA graph on the CPU
    scheduler_config = SimpleNamespace(max_num_seqs=4)
    runner.config = SimpleNamespace(scheduler_config=scheduler_config)
    runner.input_batch = InputBatch(4, max_len, runner.max_blocks_per_seq,
                                    runner.device)
    runner._allocate_step_buffers()
    return runner


def step_inputs(runner: ModelRunner, num_scheduled: dict[int, int]):
    """input_ids and metadata of a step: {sequence id: tokens it runs}."""
    rows = [runner.input_batch.row_of[seq_id] for seq_id in num_scheduled]
    ids, md, _ = runner._prepare_inputs(
        np.array(rows), np.array(list(num_scheduled.values())))
    return ids, md
