"""Prefill vs decode, in FLOPs per byte of memory read (a roofline estimate).

Per token, the linear layers cost 2 FLOPs per parameter; attention costs
4 x layers x query heads x head_dim FLOPs per token of context (Q.K and
P.V). A step reads every weight once, plus each sequence's KV cache.
"""

import torch
from transformers import AutoModelForCausalLM

from folovllm.config import ModelConfig

QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"  # a config.json, no weights
H100_FLOPS, H100_BW = 989e12, 3.35e12  # datasheet: dense bf16, HBM3 bytes/s


class Shape:
    def __init__(self, name: str, cfg: ModelConfig):
        with torch.device("meta"):  # shapes only: no memory, no weights
            model = AutoModelForCausalLM.from_config(cfg.hf_config)
        self.name = name
        self.params = sum(p.numel() for p in model.parameters())
        self.weight_bytes = 2 * self.params  # bf16
        self.flops_per_token = 2 * self.params
        self.attn_flops_per_ctx = (4 * cfg.num_layers
                                   * cfg.num_attention_heads * cfg.head_dim)
        self.kv_per_token = cfg.kv_cache_bytes_per_token(torch.bfloat16)

    def decode(self, batch: int, ctx: int) -> tuple[float, float]:
        """(FLOPs, bytes) of one step: `batch` sequences of `ctx` tokens."""
        flops = batch * (self.flops_per_token + self.attn_flops_per_ctx * ctx)
        return flops, self.weight_bytes + batch * ctx * self.kv_per_token

    def decode_intensity(self, batch: int, ctx: int) -> float:
        flops, nbytes = self.decode(batch, ctx)
        return flops / nbytes

    def decode_limit(self, ctx: int) -> float:
        """Batch -> infinity: only the KV reads are left to amortise."""
        per_seq = self.flops_per_token + self.attn_flops_per_ctx * ctx
        return per_seq / (ctx * self.kv_per_token)

    def prefill_intensity(self, n: int) -> float:
        """One forward over an n-token prompt (causal: 1, 2, ..., n)."""
        attn = self.attn_flops_per_ctx * n * (n + 1) // 2
        flops = n * self.flops_per_token + attn
        return flops / (self.weight_bytes + n * self.kv_per_token)

    def ceiling(self, batch: int, ctx: int) -> float:
        """Tokens/s on an H100 if a step took just its bytes' time."""
        flops, nbytes = self.decode(batch, ctx)
        return batch / max(nbytes / H100_BW, flops / H100_FLOPS)


smol = Shape("SmolLM2-135M", ModelConfig(model=None, device="cpu"))
qwen = Shape("Qwen3-0.6B", ModelConfig(model=QWEN3, device="cpu"))
CTX, BATCHES = 1024, (1, 8, 32, 64, 256)
print(f"decode FLOPs per byte, bf16, {CTX} tokens of context each")
print(f"{'model':<14}" + "".join(f"{f'B={b}':>7}" for b in BATCHES)
      + f"{'B->inf':>8}")
for s in (smol, qwen):
    row = "".join(f"{s.decode_intensity(b, CTX):>7.1f}" for b in BATCHES)
    print(f"{s.name:<14}{row}{s.decode_limit(CTX):>8.1f}")
for s in (smol, qwen):
    print(f"{s.name} prefill of 512 tokens: "
          f"{s.prefill_intensity(512):.0f} FLOPs per byte")
print(f"H100 ridge point: {H100_FLOPS / H100_BW:.0f} FLOPs per byte")
print(f"Qwen3-0.6B on H100, {CTX} ctx: <= {qwen.ceiling(1, CTX):,.0f} tok/s"
      f" at B=1, <= {qwen.ceiling(64, CTX):,.0f} at B=64")
