"""How many KV blocks the model runner allocates, with the numbers of one worked example.

The formula is `ModelRunner.kv_budget_bytes` and `ModelRunner._num_blocks`:

    budget = total x gpu_memory_utilization - peak of the profiling run - memory not ours
    blocks = min(budget // bytes per block, max_num_seqs x ceil(max_model_len / block_size))

The card and the profiling figures below are stated, not measured: an 80 GiB GPU, and a profiling
run that peaks 2 GiB above the weights, with 1 GiB held outside PyTorch (the CUDA context,
other processes). The weights and the bytes per block are Qwen3-0.6B's in bf16.
"""

import torch

from folovllm.config import ModelConfig
from folovllm.core.kv_cache_manager import cdiv
from folovllm.model_executor.models.qwen3 import Qwen3ForCausalLM
from folovllm.worker.model_runner import DEFAULT_CPU_KV_BYTES

GiB = 1 << 30
BLOCK = 16

qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b", dtype="bfloat16", device="cpu",
                   load_format="dummy")
bytes_per_block = BLOCK * qwen.kv_cache_bytes_per_token()
assert bytes_per_block == 1_835_008                    # 1.75 MiB: 16 tokens, 28 layers, K and V

# --- the budget ------------------------------------------------------------------------------
total, utilization = 80 * GiB, 0.9                     # stated: the card and the default share
with torch.device("meta"):                             # shapes only: no memory, no weights
    params = sum(p.numel() for p in Qwen3ForCausalLM(qwen.hf_config).parameters())
assert params == 596_049_920                           # the embedding is tied to the LM head
weights = params * 2                                   # bf16
activations, not_ours = 2 * GiB, 1 * GiB               # stated: what a profiling run might find
peak = weights + activations                           # max_memory_allocated, less the scratch KV
budget = int(total * utilization) - peak - not_ours
assert round(weights / GiB, 2) == 1.11
assert int(total * utilization) == 72 * GiB
assert round(budget / GiB, 2) == 67.89


def num_blocks(budget: int, max_model_len: int, max_num_seqs: int = 256) -> int:
    most_usable = max_num_seqs * cdiv(max_model_len, BLOCK)
    return min(budget // bytes_per_block, most_usable)


from_budget = budget // bytes_per_block
assert from_budget == 39_725 and from_budget * BLOCK == 635_600  # tokens the budget holds

# max_model_len 2048: 256 sequences can never use more than 256 x 128 blocks; the cap decides.
assert num_blocks(budget, 2048) == 256 * 128 == 32_768 < from_budget
assert 32_768 * bytes_per_block == 56 * GiB
# max_model_len 40960 (the model's own): the cap is 655,360 blocks; the budget decides.
assert 256 * cdiv(40960, BLOCK) == 655_360
assert num_blocks(budget, 40960) == 39_725
# On a CPU there is nothing to profile: the budget is 4 GiB.
assert DEFAULT_CPU_KV_BYTES == 4 * GiB
cpu = num_blocks(DEFAULT_CPU_KV_BYTES, 2048)
assert cpu == 2340 and cpu * BLOCK == 37_440

for label, b, length in (("80 GiB GPU", budget, 2048), ("80 GiB GPU", budget, 40960),
                         ("CPU 4 GiB", DEFAULT_CPU_KV_BYTES, 2048)):
    n = num_blocks(b, length)
    print(f"{label:10s} max_model_len {length:>6}: budget {b / GiB:6.2f} GiB -> {n:>6,} blocks, "
          f"{n * BLOCK:>7,} tokens, {n * bytes_per_block / GiB:6.2f} GiB allocated")
print("sizing: all numbers check out")
