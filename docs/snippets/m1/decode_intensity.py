"""Prefill vs decode in FLOPs per byte: every number the M1 learning notes quote about it.

A roofline estimate. Per token, the linear layers cost about 2 FLOPs per parameter (one multiply
and one add per weight), and attention costs 4 x layers x query heads x head_dim FLOPs per token
of context (Q.K and P.V). A step reads every weight once, plus the KV cache of every sequence in
the batch. The parameter counts come from building each model on the "meta" device: shapes only,
no memory, no weights loaded.
"""

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

import folovllm.benchmarks
from folovllm.config import ModelConfig


def count_params(cfg: ModelConfig) -> tuple[int, int]:
    """(all parameters, those in 1-D tensors: norm weights, which do no matmul)."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg.hf_config)
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.dim() == 1)


class Shape:
    def __init__(self, name: str, cfg: ModelConfig, dtype: torch.dtype = torch.bfloat16):
        self.name = name
        self.params, self.norm_params = count_params(cfg)
        self.elem = torch.tensor([], dtype=dtype).element_size()
        self.weight_bytes = self.params * self.elem
        self.flops_per_token = 2 * self.params  # the linear layers
        # Attention: Q.K^T and P.V, 2 FLOPs per multiply-add, over every query head and layer.
        self.attn_flops_per_ctx = 4 * cfg.num_layers * cfg.num_attention_heads * cfg.head_dim
        self.kv_bytes_per_token = cfg.kv_cache_bytes_per_token(dtype)

    def decode(self, batch: int, ctx: int) -> tuple[float, float]:
        """(FLOPs, bytes) of one decode step: `batch` sequences, each with `ctx` cached tokens."""
        flops = batch * (self.flops_per_token + self.attn_flops_per_ctx * ctx)
        return flops, self.weight_bytes + batch * ctx * self.kv_bytes_per_token

    def decode_intensity(self, batch: int, ctx: int) -> float:
        flops, nbytes = self.decode(batch, ctx)
        return flops / nbytes

    def decode_limit(self, ctx: int) -> float:
        """Intensity as the batch grows without bound: the KV reads alone are left to amortise."""
        return (self.flops_per_token + self.attn_flops_per_ctx * ctx) / (ctx * self.kv_bytes_per_token)

    def prefill_intensity(self, prompt_len: int) -> float:
        """One forward over a whole prompt: causal attention sees 1, 2, ..., T tokens."""
        attn = self.attn_flops_per_ctx * prompt_len * (prompt_len + 1) // 2
        flops = prompt_len * self.flops_per_token + attn
        return flops / (self.weight_bytes + prompt_len * self.kv_bytes_per_token)


# The default model (SmolLM2-135M-Instruct): its config only, no weights are loaded.
smol_cfg = ModelConfig(model=None, device="cpu")
assert smol_cfg.hf_config.hidden_size == 576
assert (smol_cfg.num_layers, smol_cfg.num_attention_heads, smol_cfg.num_kv_heads,
        smol_cfg.head_dim) == (30, 9, 3, 64)
smol = Shape("SmolLM2-135M", smol_cfg)  # bf16, as dtype="auto" runs it on a GPU
smol32 = Shape("SmolLM2-135M fp32", smol_cfg, torch.float32)  # as it runs on CPU

# The real Qwen3-0.6B shape (the same config.json the M0 KV-bytes snippet uses).
QWEN3_DIR = Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b"
qwen = Shape("Qwen3-0.6B", ModelConfig(model=str(QWEN3_DIR), dtype="bfloat16", device="cpu"))

# --- per token -------------------------------------------------------------------------------
assert smol.params == 134_515_008
assert smol.flops_per_token == 269_030_016            # ~0.27 GFLOP per token
# 2 x params counts the tied embedding once, as the LM head matmul, and the norm weights, which
# do no matmul: the error of "2 x params" is the norm weights alone, 0.03 %.
assert smol.norm_params == 576 * (2 * 30 + 1) == 35_136
assert smol.norm_params / smol.params < 0.0003
assert smol.weight_bytes == 269_030_016               # bf16: 2 bytes per parameter, ~257 MiB
assert round(smol.weight_bytes / 2**20, 1) == 256.6
assert smol.attn_flops_per_ctx == 69_120              # per token of context, per new token
assert smol.kv_bytes_per_token == 23_040 and smol32.kv_bytes_per_token == 46_080

assert qwen.params == 596_049_920
assert qwen.flops_per_token == 1_192_099_840          # ~1.19 GFLOP per token
assert qwen.weight_bytes == 1_192_099_840             # ~1.11 GiB in bf16
assert qwen.attn_flops_per_ctx == 229_376 and qwen.kv_bytes_per_token == 114_688

# --- decode alone: 2 FLOPs per parameter against the bytes of that parameter -----------------
assert smol.decode_intensity(1, 0) == 1.0      # bf16: 2 FLOPs / 2 bytes
assert smol32.decode_intensity(1, 0) == 0.5    # fp32 on CPU: 2 FLOPs / 4 bytes
assert qwen.decode_intensity(1, 0) == 1.0
# Ignoring the KV cache, a batch of B reads the weights once for B tokens: B FLOPs per byte.
assert all(smol.decode_intensity(b, 0) == b for b in (1, 8, 64, 256))
# Attention alone: query heads per KV head x 2 FLOPs per 2-byte element, whatever the batch.
assert smol.attn_flops_per_ctx / smol.kv_bytes_per_token == 3.0   # 9 query heads / 3 KV heads
assert qwen.attn_flops_per_ctx / qwen.kv_bytes_per_token == 2.0   # 16 / 8

# --- prefill: one forward over the whole prompt ------------------------------------------------
assert round(smol.prefill_intensity(512)) == 523
assert round(qwen.prefill_intensity(512)) == 512

# --- the GPU's balance point (H100 SXM datasheet: 989 TFLOP/s dense bf16, 3.35 TB/s HBM3) -----
H100_FLOPS, H100_BW = 989e12, 3.35e12
ridge = H100_FLOPS / H100_BW
assert round(ridge) == 295  # below this many FLOPs per byte, memory bandwidth sets the speed
assert smol.prefill_intensity(512) > ridge > smol.decode_intensity(256, 1024)

# --- intensity vs batch size, at 1024 tokens of context per sequence ---------------------------
CTX, BATCHES = 1024, (1, 8, 32, 64, 256)
print(f"decode FLOPs per byte, bf16, {CTX} tokens of context per sequence")
print(f"{'model':<14}" + "".join(f"{'B=' + str(b):>8}" for b in BATCHES) + f"{'B->inf':>8}")
for s in (smol, qwen):
    row = "".join(f"{s.decode_intensity(b, CTX):>8.1f}" for b in BATCHES)
    print(f"{s.name:<14}{row}{s.decode_limit(CTX):>8.1f}")

table = {s.name: [round(s.decode_intensity(b, CTX), 1) for b in BATCHES] + [
    round(s.decode_limit(CTX), 1)] for s in (smol, qwen)}
assert table["SmolLM2-135M"] == [1.2, 5.9, 10.6, 12.2, 13.8, 14.4]
assert table["Qwen3-0.6B"] == [1.1, 5.4, 9.2, 10.5, 11.7, 12.2]
# At this context, 11 SmolLM2 sequences (10 for Qwen3) read as many KV bytes as weight bytes.
assert smol.weight_bytes // (CTX * smol.kv_bytes_per_token) == 11
assert qwen.weight_bytes // (CTX * qwen.kv_bytes_per_token) == 10

# --- what that means in tokens per second: the H100 bandwidth ceiling for Qwen3-0.6B ----------
def ceiling(s: Shape, batch: int, ctx: int) -> float:
    """Tokens/s if a step took exactly the time to stream its bytes (memory-bound)."""
    flops, nbytes = s.decode(batch, ctx)
    step = max(nbytes / H100_BW, flops / H100_FLOPS)
    assert nbytes / H100_BW > flops / H100_FLOPS  # decode is memory-bound here
    return batch / step

one, sixty_four = ceiling(qwen, 1, CTX), ceiling(qwen, 64, CTX)
print(f"Qwen3-0.6B on H100, {CTX} ctx: <= {one:,.0f} tok/s at B=1, <= {sixty_four:,.0f} at B=64")
assert (round(one), round(sixty_four)) == (2_558, 24_620)
assert round(sixty_four / one, 1) == 9.6
print("all intensity numbers check out")
