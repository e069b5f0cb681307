"""float32 linear layers on x86-64 go to oneDNN: equal to rounding."""

import torch
import torch.nn.functional as F

from folovllm.model_executor.layers.linear import (ONEDNN_LINEAR, linear,
                                                   use_onednn)

torch.manual_seed(0)
x, w = torch.randn(32, 576), torch.randn(1536, 576)  # 32 decode rows
# float32 on x86-64 to oneDNN (when the build has it); the rest to F.linear.
fp32_path, bf16_path = use_onednn(x, w), use_onednn(x.bfloat16(), w.bfloat16())
print("oneDNN for float32:", fp32_path == ONEDNN_LINEAR,
      "| for bfloat16:", bf16_path)
ours, default = linear(x, w), F.linear(x, w)  # oneDNN vs MKL's sgemm
# The same products summed in another order: equal up to fp32 rounding.
print("close to F.linear (rtol 1e-5, atol 1e-4):",
      torch.allclose(ours, default, rtol=1e-5, atol=1e-4))
