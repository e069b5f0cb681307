"""What the driver sends each worker per step: the SchedulerOutput,
pickled once. A prompt is sent once, then a decode step carries only
what changed (ids, token counts, new blocks)."""

import pickle

from folovllm import SamplingParams
from folovllm.core.scheduler_output import (CachedSeqData, NewSeqData,
                                            SchedulerOutput)

params = SamplingParams(temperature=0)
new = [NewSeqData(i, f"r{i}", 0, tuple(range(500)), params, [i], 0)
       for i in range(32)]
first = SchedulerOutput(new, CachedSeqData(), {i: 500 for i in range(32)},
                        32 * 500, set())
cached = CachedSeqData(list(range(32)), [False] * 32, [[]] * 32, [500] * 32)
decode = SchedulerOutput([], cached, {i: 1 for i in range(32)}, 32, set(),
                         num_decode_tokens=32)
for name, step in (("prompt step (32 x 500)", first),
                   ("decode step (32 seqs)", decode)):
    print(f"{name}: {len(pickle.dumps(step)):7,d} bytes")
