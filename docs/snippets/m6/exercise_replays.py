"""Which steps replay, over a run: the M5 step loop (the engine's
Scheduler, no model; budget 16, at most 8 sequences) and the runner's own
`_graph_size` with graphs of 1, 2, 4 and 8 rows. Five chats (c0..c4) with
6-token prompts and 6 output tokens; at step 3 a 30-token prompt arrives."""

import numpy as np
import torch

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.worker.cuda_graph import CUDAGraphRunner
from folovllm.worker.model_runner import ModelRunner

runner = ModelRunner.__new__(ModelRunner)      # no model: the decision only
runner.cuda_graphs = CUDAGraphRunner([1, 2, 4, 8], 8, torch.float32,
                                     torch.device("cpu"))
s = scheduler(budget=16, seqs=8)
for i in range(5):
    add(s, f"c{i}", 6, max_tokens=6)
for t in range(20):
    if t == 3:
        add(s, "long", 30, max_tokens=3)
    st = step(s)
    if not st.tokens:
        break
    size = runner._graph_size(np.array(list(st.tokens.values())))
    how = f"graph {size}" if size else "eager"
    tokens = " ".join(f"{name}:{n}" for name, n in st.tokens.items())
    print(f"step {t}: {how:7s} {tokens}")
