"""Prefill is compute-bound, decode memory-bound: FLOPs per byte read."""

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model, fp32 on CPU
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
cfg = runner.model.config
n_params = sum(p.numel() for p in runner.model.parameters())
head_dim = cfg.hidden_size // cfg.num_attention_heads
kv_per_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads \
    * head_dim * 2  # bf16
weight_bytes = 2 * n_params  # bf16


def flops_per_byte(new_tokens: int, cached_tokens: int) -> float:
    """~2 FLOPs per parameter per new token, over the bytes read: every
    weight once, plus the KV cache of every cached token."""
    return 2 * n_params * new_tokens / (weight_bytes
                                        + kv_per_token * cached_tokens)


prefill = flops_per_byte(new_tokens=2048, cached_tokens=2048)
decode_1 = flops_per_byte(new_tokens=1, cached_tokens=2048)
decode_64 = flops_per_byte(new_tokens=64, cached_tokens=64 * 1024)
print(f"prefill of 2048 tokens:      {prefill:7.1f} FLOPs per byte")
print(f"decode, 1 sequence:          {decode_1:7.1f}")
print(f"decode, 64 sequences x 1024: {decode_64:7.1f}")

# The runner's two calls: whole prompts, then one token per row.
prompts = [tok("The capital of France is").input_ids, tok("Hi").input_ids]
prefill_logits = runner.prefill(prompts)  # only the last position
decode_logits = runner.decode(prefill_logits.argmax(-1).tolist())
print("prefill logits", tuple(prefill_logits.shape),
      "| decode logits", tuple(decode_logits.shape))
all_positions = 2048 * cfg.vocab_size * 4  # fp32 logits of every position
print(f"logits of all 2048 positions: {all_positions / 2**20:g} MiB")
