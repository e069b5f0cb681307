"""A mixed step as the runner lays it out: a decode, a chunk that ends
inside its prompt, and a prompt's last chunk, in one flat batch. Built by
the runner's own `_prepare_inputs`, without a model (blocks of 4)."""

import numpy as np
import torch

from docs.snippets.m3.runner_inputs import bare_runner
from folovllm import SamplingParams
from folovllm.core.scheduler_output import NewSeqData

runner = bare_runner(block_size=4)
# name: (tokens so far, computed before this step, scheduled now)
seqs = {"d": (5, 4, 1), "c": (12, 4, 4), "e": (7, 4, 3)}
for i, (name, (n, done, _)) in enumerate(seqs.items()):
    blocks = list(range(4 * i, 4 * i + 3))
    runner.input_batch.add(NewSeqData(i, name, 0, tuple(range(n)),
                                      SamplingParams(), blocks, done))
rows = np.array([runner.input_batch.row_of[i] for i in range(3)])
scheduled = np.array([s[2] for s in seqs.values()])
_, md, samples = runner._prepare_inputs(rows, scheduled)
print("query_start_loc", md.query_start_loc.tolist())
print("seq_lens       ", md.seq_lens.tolist(), "| max_query_len",
      md.max_query_len)
print("positions      ", md.positions.tolist())
print("samples        ", samples.tolist())
q_len, seq_len = 4, md.seq_lens_host[1]
mask = torch.ones(q_len, seq_len, dtype=torch.bool).tril(seq_len - q_len)
print(f"c: query i sees keys 0..{seq_len} - {q_len} + i")
for i, row in enumerate(mask.tolist()):
    print(f"  position {seq_len - q_len + i}: "
          + "".join("x" if v else "." for v in row))
