"""What the LM head costs if it runs on every row of a step."""

import json
from pathlib import Path

QWEN3 = Path("folovllm/benchmarks/configs/qwen3-0.6b/config.json")
config = json.loads(QWEN3.read_text())
hidden, vocab = config["hidden_size"], config["vocab_size"]
lm_head = hidden * vocab  # one row of weights per vocabulary entry
print(f"LM head: {lm_head:,} parameters, "
      f"{lm_head / 596_049_920:.1%} of Qwen3-0.6B")
rows = 8192  # a full prefill step at the default token budget
flops = 2 * rows * hidden * vocab
logits_bytes = 2 * rows * vocab  # bf16
print(f"on all {rows} rows: {flops / 1e12:.2f} TFLOPs and "
      f"{logits_bytes / 2**30:.2f} GiB of logits, for a few rows that are used")
