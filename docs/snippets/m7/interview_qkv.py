"""QKVParallelLinear's split of heads for each rank: query heads always
split; KV heads split while there are enough, else replicated."""

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.linear import QKVParallelLinear

shapes = {"SmolLM2-135M": (576, 64, 9, 3), "Qwen3-0.6B": (1024, 128, 16, 8),
          "tiny, 1 KV head": (64, 16, 4, 1)}
for name, tps in (("SmolLM2-135M", (1, 3)), ("Qwen3-0.6B", (2, 8, 16)),
                  ("tiny, 1 KV head", (2,))):
    hidden, head_dim, heads, kv = shapes[name]
    for tp in tps:
        held = []
        for r in range(tp):
            with as_rank(r, tp):
                layer = QKVParallelLinear(hidden, head_dim, heads, kv)
            held.append(layer.shards["k"].start // head_dim)
        print(f"{name} TP={tp}: {layer.num_heads} q + {layer.num_kv_heads} "
              f"KV heads/rank, replicas {layer.num_kv_head_replicas}")
        print(f"  first KV head of each rank: {held}")
