"""TP, PP and DP for Qwen3-0.6B on 4 GPUs, on paper: weight bytes per GPU
(bf16) and bytes each GPU sends per generated token (bf16 activations)."""

from pathlib import Path

from transformers import AutoConfig

import folovllm.benchmarks

c = AutoConfig.from_pretrained(
    Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b")
n, h, layers = 4, c.hidden_size, c.num_hidden_layers
attn = h * (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim \
    + c.num_attention_heads * c.head_dim * h
mlp = 3 * h * c.intermediate_size
weights = 2 * (layers * (attn + mlp) + c.vocab_size * h)   # tied embedding
tp_sent = 2 * (n - 1) / n * (2 * layers + 1) * h * 2
pp_sent = h * 2                     # one stage boundary per GPU, one way
rows = (("TP=4", weights / n, tp_sent), ("PP=4", weights / n, pp_sent),
        ("DP=4", weights, 0))
print(f"whole model: {weights / 2**20:,.0f} MiB")
for name, per_gpu, sent in rows:
    print(f"{name}: {per_gpu / 2**20:6,.0f} MiB/GPU, sends "
          f"{sent:9,.0f} B/token")
