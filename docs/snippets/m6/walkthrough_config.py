"""How enforce_eager and cuda_graph_sizes resolve, and what is refused.

On the CPU (no CUDA here) graphs are impossible: unset, enforce_eager
resolves to True and no size is kept; asking for graphs is an error that
says why. On a CUDA device with the Triton kernels, unset means graphs at
default_cuda_graph_sizes(max_num_seqs).
"""

import tempfile
import textwrap
from pathlib import Path

from folovllm.config import EngineArgs, default_cuda_graph_sizes
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
model_dir = str(build_tiny_model("llama", Path(tmp.name)))


def config(**kwargs):
    args = EngineArgs.from_kwargs(model=model_dir, device="cpu", **kwargs)
    return args.create_engine_config()


c = config()
print("unset on cpu: enforce_eager =", c.model_config.enforce_eager,
      "cuda_graph_sizes =", c.scheduler_config.cuda_graph_sizes)
print("on cuda, max_num_seqs=32:", default_cuda_graph_sizes(32))
for kwargs in ({"enforce_eager": False},
               {"cuda_graph_sizes": [1, 2, 4]},
               {"max_num_seqs": 8, "cuda_graph_sizes": [4, 16]}):
    try:
        config(**kwargs)
    except ValueError as error:
        print(f"{kwargs}:")
        print(textwrap.fill(str(error), 76, initial_indent="  ",
                            subsequent_indent="  "))
