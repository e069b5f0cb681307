"""The graphs' block table is as wide as the longest possible sequence
(max_model_len / block_size entries). Two decode steps through the
runner's `_prepare_inputs` and the copy `_execute` makes into it (blocks
of 4, max_len 16, no model): a short sequence takes row 0 after a long one;
the entries past its own blocks are stale, and no kernel reads them."""

import numpy as np
import torch

from docs.snippets.m3.runner_inputs import bare_runner
from folovllm import SamplingParams
from folovllm.core.kv_cache_manager import cdiv
from folovllm.core.scheduler_output import NewSeqData

runner = bare_runner(block_size=4, max_len=16)
table = torch.zeros(4, runner.max_blocks_per_seq, dtype=torch.int32)
for seq_id, n, blocks in ((0, 10, [7, 8, 9]), (1, 3, [5])):
    b = runner.input_batch
    b.add(NewSeqData(seq_id, f"r{seq_id}", 0, tuple(range(n)),
                     SamplingParams(), blocks, n - 1))
    _, md, _ = runner._prepare_inputs(np.array([b.row_of[seq_id]]),
                                      np.array([1]))
    table[:1, :md.block_tables.shape[1]] = md.block_tables   # as _execute
    seq_len = md.seq_lens_host[0]
    print(f"seq of {seq_len:2d} tokens: step table {md.block_tables.tolist()}"
          f", graph row 0 {table[0].tolist()}, kernel reads "
          f"{cdiv(seq_len, 4)}")
    b.remove(seq_id)
rows, entries = 256, cdiv(2048, 16)    # max_num_seqs, max_model_len / block
print(f"at 256 rows and 2048 tokens in blocks of 16: {rows} x {entries} "
      f"int32 = {rows * entries * 4 // 1024} KiB")
