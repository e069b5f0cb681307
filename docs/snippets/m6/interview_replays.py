"""Which steps replay a graph: the runner's own `_graph_size` on the tokens
each sequence computes in a step (one means a decode), with the default
capture sizes for max_num_seqs = 256 (CPU: nothing is captured, the
decision is all this shows)."""

import numpy as np
import torch

from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner
from folovllm.worker.model_runner import ModelRunner

runner = ModelRunner.__new__(ModelRunner)      # no model: the decision only
runner.cuda_graphs = CUDAGraphRunner(default_cuda_graph_sizes(256), 8,
                                     torch.float32, torch.device("cpu"))
steps = {"3 decodes": [1, 1, 1], "100 decodes": [1] * 100,
         "3 decodes + a chunk": [1, 1, 1, 29], "one prompt": [512],
         "a prompt's last token": [1]}
for name, counts in steps.items():
    size = runner._graph_size(np.array(counts))
    how = f"replays the graph of {size}" if size else "runs eagerly"
    print(f"{name:22s} ({sum(counts):3d} tokens): {how}")
