"""What tensor parallelism sends per token, on paper, for two model shapes.

Per forward pass: one all-reduce after the embedding and two per layer
(after attention's output projection and after the MLP's down projection),
each of hidden_size elements per token, in bfloat16 (2 bytes). A ring
all-reduce sends 2(N-1)/N of the data from each rank. Link speeds are the
vendors' nominal figures per direction, not measurements.
"""
import json
from pathlib import Path

CFG = "folovllm/benchmarks/configs/qwen3-0.6b/config.json"
qwen = json.loads(Path(CFG).read_text())
MODELS = {  # name: (layers, hidden_size, vocab_size, TP sizes it allows)
    "Qwen3-0.6B": (qwen["num_hidden_layers"], qwen["hidden_size"],
                   qwen["vocab_size"], (2, 4, 8)),
    "SmolLM2-135M": (30, 576, 49152, (3,)),
}
LINKS = {"NVLink 4 (H100/H200)": 450e9, "PCIe 4.0 x16": 32e9}
BYTES, BATCH = 2, 256   # bfloat16; a decode step of 256 sequences

for name, (layers, hidden, vocab, sizes) in MODELS.items():
    reduces = 2 * layers + 1
    per_token = reduces * hidden * BYTES
    print(f"{name}: {reduces} all-reduces per step, "
          f"{per_token / 1024:.1f} KiB all-reduced per token")
    for n in sizes:
        sent = 2 * (n - 1) / n * per_token
        print(f"  TP={n}: each rank sends {sent / 1024:.1f} KiB per token, "
              f"{sent * BATCH / 2**20:.1f} MiB per step of {BATCH}")
    gather = (n - 1) / n * vocab * BYTES
    print(f"  LM head at TP={n}: rank 0 receives {gather / 1024:.1f} KiB "
          f"of logits per sampled token")

layers, hidden, _, _ = MODELS["Qwen3-0.6B"]
sent = 2 * (8 - 1) / 8 * (2 * layers + 1) * hidden * BYTES * BATCH
for link, speed in LINKS.items():
    print(f"Qwen3-0.6B TP=8, one step of {BATCH} over {link}: "
          f"{sent / speed * 1e6:.0f} us")
pp = hidden * BYTES * BATCH
print(f"pipeline stage boundary, one step of {BATCH}: "
      f"{pp / 2**20:.2f} MiB sent once, point to point")
