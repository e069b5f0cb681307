"""A decode step of 3 sequences, padded to a graph's batch size of 4.

A tiny random-weight model on the CPU, blocks of 4 tokens. Three prompts
(5, 9 and 3 tokens) are prefilled in one step; then the runner prepares
the next step, three one-token queries, as the graph of 4 rows would read
it. Nothing is captured on the CPU: this shows the inputs a replay reads.
"""

import tempfile
from pathlib import Path

import numpy as np
import torch

from folovllm import LLM, SamplingParams
from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
model_dir = str(build_tiny_model("llama", Path(tmp.name)))
llm = LLM(model_dir, device="cpu", block_size=4, max_num_seqs=8)
engine, runner = llm.llm_engine, llm.llm_engine.runner
params = SamplingParams(temperature=0, max_tokens=4, ignore_eos=True)
for rid, start, n in (("a", 10, 5), ("b", 20, 9), ("c", 30, 3)):
    engine.add_request({"prompt_token_ids": list(range(start, start + n))},
                       params, request_id=rid)
engine.step()   # the three prefills; each samples its first token

step = engine.scheduler.schedule()   # the next step: one token each
runner._update_states(step)          # what execute_model does first
rows = np.array([runner.input_batch.row_of[i]
                 for i in step.num_scheduled_tokens])
sizes = default_cuda_graph_sizes(8)
graphs = CUDAGraphRunner(sizes, 64, torch.float32, torch.device("cpu"))
size = graphs.padded_size(len(rows))
print(f"sizes {sizes}: a batch of {len(rows)} replays the graph of {size}")
ones = np.ones(len(rows), np.int64)
ids, md, samples = runner._prepare_inputs(rows, ones, size)
print("input_ids   ", ids.tolist())
print("positions   ", md.positions.tolist())
print("slot_mapping", md.slot_mapping.tolist())
print("seq_lens    ", md.seq_lens.tolist())
print("query_start ", md.query_start_loc.tolist())
print("block_tables", md.block_tables.tolist())
print("samples     ", samples.tolist())
