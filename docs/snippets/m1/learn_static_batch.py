"""A static batch of two prompts on the M1 runner, and the cache it fills."""

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model, fp32 on CPU
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
prompts = [tok("The capital of France is").input_ids, tok("Hi").input_ids]

logits = runner.prefill(prompts)  # one forward over both prompts
mask = runner._attention_mask
positions = (mask.cumsum(-1) - 1).clamp(min=0)
print("attention mask:", mask.tolist())  # "Hi" is padded on the left
print("positions:     ", positions.tolist())
cache = runner._cache  # transformers' DynamicCache
print("layer 0 keys:", tuple(cache.layers[0].keys.shape),
      "[batch, KV heads, tokens, head dim]")

first = logits.argmax(-1).tolist()  # greedy first tokens
print("first tokens:", [tok.decode(t) for t in first])
runner.decode(first)  # one decode step: a new column for every row
per_token = config.kv_cache_bytes_per_token()
held = 4 * sum(x.keys.numel() + x.values.numel() for x in cache.layers)
print(f"KV held after one decode step: {held:,} bytes, of which "
      f"{4 * per_token:,} are the four pads of 'Hi'")
