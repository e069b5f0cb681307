"""What the KV cache holds, what it saves, and how transformers grows it."""

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model, fp32 on CPU
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
prompts = [tok("The capital of France is").input_ids, tok("Hi").input_ids]
first = runner.prefill(prompts).argmax(-1).tolist()
runner.decode(first)
layer = runner._cache.layers[0]
width = max(len(p) for p in prompts)  # 5: the padded prompt width
print("layer 0 keys:", tuple(layer.keys.shape), "[B, H_kv, T, d]")
cache_bytes = sum(t.numel() * t.element_size() for lay in runner._cache.layers
                  for t in (lay.keys, lay.values))
print(f"cache: {cache_bytes:,} bytes for 2 rows x {width + 1} columns")

# The cache changes the cost, not the result.
a = prompts[0]
nxt = runner.prefill([a]).argmax(-1).tolist()
cached = runner.decode(nxt)[0]
recomputed = runner.prefill([a + nxt])[0]
diff = (cached - recomputed).abs().max().item()
print("decode from the cache vs full forward: same argmax",
      bool(cached.argmax() == recomputed.argmax()), "| max diff < 1e-3",
      diff < 1e-3)

# DynamicCache concatenates: each step copies into a longer tensor.
before = runner._cache.layers[0].keys
runner.decode(nxt)
after = runner._cache.layers[0].keys
print("new tensor after a step:", after.data_ptr() != before.data_ptr(),
      "| old contents kept:", torch.equal(after[:, :, :-1], before))
# Without a cache, step i re-processes all P + i tokens.
P, n = 512, 256
print(f"{n} outputs of a {P}-token prompt: {P + n:,} tokens through the",
      f"model with a cache, {sum(P + i for i in range(n)):,} without")
