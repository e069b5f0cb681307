"""How many KV blocks the model runner allocates: one worked example.

The card and the profiling figures are stated, not measured: an 80 GiB GPU,
a profiling run peaking 2 GiB above the weights, 1 GiB outside PyTorch.
The weights and the bytes per block are Qwen3-0.6B's in bf16.
"""

import torch

from folovllm.config import ModelConfig
from folovllm.core.kv_cache_manager import cdiv
from folovllm.model_executor.models.qwen3 import Qwen3ForCausalLM
from folovllm.worker.model_runner import DEFAULT_CPU_KV_BYTES

GiB, BLOCK = 1 << 30, 16
qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b",
                   dtype="bfloat16", device="cpu", load_format="dummy")
bytes_per_block = BLOCK * qwen.kv_cache_bytes_per_token()

with torch.device("meta"):  # shapes only: no memory, no weights
    model = Qwen3ForCausalLM(qwen.hf_config)
weights = 2 * sum(p.numel() for p in model.parameters())  # bf16
total, utilization = 80 * GiB, 0.9      # the card, the default share
activations, not_ours = 2 * GiB, 1 * GiB  # what profiling might find
budget = int(total * utilization) - (weights + activations) - not_ours


def num_blocks(budget: int, max_model_len: int, max_num_seqs=256) -> int:
    most_usable = max_num_seqs * cdiv(max_model_len, BLOCK)
    return min(budget // bytes_per_block, most_usable)


for label, b, length in (("80 GiB GPU", budget, 2048),
                         ("80 GiB GPU", budget, 40960),
                         ("CPU 4 GiB", DEFAULT_CPU_KV_BYTES, 2048)):
    n = num_blocks(b, length)
    print(f"{label:10s} max_model_len {length:>5}: budget {b / GiB:5.2f} GiB"
          f" -> {n:>6,} blocks, {n * bytes_per_block / GiB:5.2f} GiB")
