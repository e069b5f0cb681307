"""Why static buffers: the runner builds every step's inputs in the same
fixed buffers, so the tensors a graph recorded are the ones each step
fills. Two different decode steps through the runner's `_prepare_inputs`
(blocks of 4, no model): same memory, new values."""

import numpy as np

from docs.snippets.m3.runner_inputs import bare_runner
from folovllm import SamplingParams
from folovllm.core.scheduler_output import NewSeqData

runner = bare_runner(block_size=4)
for i, n in enumerate((5, 9, 3)):    # three sequences, prompt lengths
    runner.input_batch.add(NewSeqData(i, f"r{i}", 0, tuple(range(10, 10 + n)),
                                      SamplingParams(), [3 * i, 3 * i + 1],
                                      n - 1))
rows = np.array([runner.input_batch.row_of[i] for i in range(3)])
steps = []
for seqs in ([0, 1, 2], [2, 0]):     # two decode steps, different batches
    ids, md, _ = runner._prepare_inputs(rows[seqs], np.ones(len(seqs), int))
    steps.append((ids, md))
    print(f"batch {seqs}: input_ids {ids.tolist()} positions "
          f"{md.positions.tolist()} seq_lens {md.seq_lens.tolist()}")
(ids0, md0), (ids1, md1) = steps
same = [a.data_ptr() == b.data_ptr() for a, b in
        ((ids0, ids1), (md0.positions, md1.positions),
         (md0.seq_lens, md1.seq_lens), (md0.slot_mapping, md1.slot_mapping))]
print("same memory for input_ids, positions, seq_lens, slot_mapping:", same)
