"""RMSNorm with the residual add fused in, bit for bit transformers'."""

import torch
from transformers.models.llama.modeling_llama import LlamaRMSNorm

from folovllm.model_executor.layers.layernorm import RMSNorm

torch.manual_seed(0)
hidden = 64
norm, ref = RMSNorm(hidden, eps=1e-6), LlamaRMSNorm(hidden, eps=1e-6)
norm.weight.data = ref.weight.data = torch.linspace(0.5, 2.0, hidden)
x, residual = torch.randn(5, hidden), torch.randn(5, hidden)

# Fused: add the residual, normalise, hand back the new residual stream.
out, new_residual = norm(x, residual)
print("new residual == x + residual:", torch.equal(new_residual, x + residual))
fused = torch.equal(out, norm(x + residual))
print("out == norm(x + residual):   ", fused)

# transformers' arithmetic (fp32 inside, cast back, then the weight).
same_fp32 = torch.equal(norm(x), ref(x))
print("same as LlamaRMSNorm, fp32:  ", same_fp32)
norm_bf16, ref_bf16 = norm.to(torch.bfloat16), ref.to(torch.bfloat16)
xb = (x * 30).to(torch.bfloat16)
same_bf16 = torch.equal(norm_bf16(xb), ref_bf16(xb))
print("same as LlamaRMSNorm, bf16:  ", same_bf16)
