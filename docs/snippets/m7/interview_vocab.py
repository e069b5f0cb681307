"""VocabParallelEmbedding on 4 'ranks' with vocab 10: each rank holds
ceil(10 / 4) = 3 rows (the last ones padding), writes zeros for ids
outside its block; the sum over ranks is the dense lookup."""

import torch

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.vocab_parallel_embedding import \
    VocabParallelEmbedding

table = torch.arange(10.0).unsqueeze(1) * torch.ones(1, 2)   # row i = [i, i]
ids = torch.tensor([0, 4, 9])
parts = []
for r in range(4):
    with as_rank(r, 4):
        emb = VocabParallelEmbedding(10, 2)
    emb.weight_loader(emb.weight, table)
    parts.append(emb(ids))          # no group here: the all-reduce is a no-op
    print(f"rank {r}: ids [{emb.vocab_start}, {emb.vocab_end}), "
          f"{emb.weight.shape[0]} rows, output {parts[-1][:, 0].tolist()}")
print("sum over ranks:", sum(parts)[:, 0].tolist(), "dense:",
      table[ids][:, 0].tolist())
