"""Left padding: every row's last real token sits in the last column."""

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model, fp32 on CPU
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
long_p, short_p = tok("The capital of France is").input_ids, tok("Hi").input_ids
together = runner.prefill([long_p, short_p])
print("attention mask:", runner._attention_mask.tolist())
print("next positions:", runner._next_position.tolist())  # per row
alone = runner.prefill([short_p])
# Pads hidden by the mask, positions counting real tokens: the padded row
# computes what the row computes alone (up to rounding).
left_diff = (together[1] - alone[0]).abs().max().item()
print("'Hi' padded on the left, same logits as alone:", left_diff < 1e-3)

# The positions: the cumulative sum of the mask, from 0 at the first token.
mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 0, 0, 1]])
positions = (mask.cumsum(-1) - 1).clamp(min=0)
print("positions:", positions.tolist())

# Right padding: the short row's last column is a pad.
pad = runner.pad_token_id
ids = torch.tensor([short_p + [pad] * 4])
right_mask = torch.tensor([[1, 0, 0, 0, 0]])
with torch.inference_mode():
    right = runner.model(input_ids=ids, attention_mask=right_mask).logits
right_diff = (right[0, -1] - alone[0]).abs().max().item()
print("'Hi' padded on the right, same logits in the last column:",
      right_diff < 1e-3)
