"""Why one rank samples: two ranks sampling the same logits, each with its
own seeded generator, agree only while their generators agree. Rank 1
drew one extra number once (say, for another request); from then on the
ranks disagree, and their next steps' inputs differ."""

import torch

logits = torch.randn(4, 50, generator=torch.Generator().manual_seed(0))
probs = logits.softmax(-1)
g0, g1 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
torch.rand(1, generator=g1)                  # one draw more on rank 1
t0 = torch.multinomial(probs, 1, generator=g0).flatten().tolist()
t1 = torch.multinomial(probs, 1, generator=g1).flatten().tolist()
print("rank 0 samples", t0, "rank 1 samples", t1)
print("broadcast instead: both ranks append", t0)
print(f"broadcast: {4 * 8} bytes (4 int64 ids); logits: "
      f"{probs.numel() * 4:,} bytes (float32)")
