"""Turning graphs on and off: enforce_eager resolved on this CPU machine
(Qwen3-0.6B's config, dummy weights), the default capture sizes, and the
settings the engine refuses, with the reasons it gives."""

import textwrap
from pathlib import Path

import folovllm.benchmarks
from folovllm.config import (CacheConfig, EngineConfig, ModelConfig,
                             ParallelConfig, SchedulerConfig,
                             default_cuda_graph_sizes)

QWEN3 = Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b"


def model(**kw) -> ModelConfig:
    return ModelConfig(model=str(QWEN3), load_format="dummy",
                       skip_tokenizer_init=True, device="cpu", **kw)


m = model()
print("enforce_eager unset on the CPU ->", m.enforce_eager)
print("default sizes for 13 seqs:", default_cuda_graph_sizes(13),
      "| for 256:", len(default_cuda_graph_sizes(256)), "sizes")
refused = {
    "graphs on the CPU": lambda: model(enforce_eager=False),
    "a size of 0": lambda: SchedulerConfig(max_num_seqs=8,
                                           cuda_graph_sizes=[0, 4]),
    "sizes and eager": lambda: EngineConfig(
        m, CacheConfig(), SchedulerConfig(cuda_graph_sizes=[1, 2]),
        ParallelConfig()),
}
for name, make in refused.items():
    try:
        make()
    except ValueError as error:
        print(f"{name}:\n" + textwrap.fill(str(error), 76,
                                           initial_indent="  ",
                                           subsequent_indent="  "))
