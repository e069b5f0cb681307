"""Prefill is compute-bound: the weights and the causal attention."""

H, Hk, D, PARAMS = 16, 8, 128, 596_049_920  # Qwen3-0.6B, bf16
ridge = 990e12 / 3.35e12  # H100 SXM: FLOPs per byte to be compute-bound
T = 2048  # one prompt of 2048 tokens

# Weights: each element is read once and used by all T tokens.
weights = (2 * PARAMS * T) / (PARAMS * 2)
# Causal attention, one layer: scores and p.v over the lower triangle ...
attn_flops = 4 * H * D * (T * (T + 1) // 2)
# ... against reading Q, K, V and writing O once (flash attention's traffic).
attn_bytes = (2 * H + 2 * Hk) * T * D * 2
# The same layer in decode: one new token against the same 2048 keys.
decode = (4 * H * D * T) / (2 * T * Hk * D * 2)
print(f"FLOPs per byte, ridge {int(ridge)}:")
print(f"  prefill weights:   {weights:6.0f}")
print(f"  prefill attention: {attn_flops / attn_bytes:6.0f}")
print(f"  decode attention:  {decode:6.1f}")
