"""Exercise: where does position 5 of a sequence go in the cache?"""

from docs.snippets.m3.runner_inputs import bare_runner, step_inputs
from folovllm import SamplingParams
from folovllm.core.scheduler_output import NewSeqData

prompt = tuple(range(6))  # positions 0..5
for block_size, block_ids in ((16, [3]), (4, [7, 2])):
    # M2: one 16-token slot; M3: 4-token blocks
    runner = bare_runner(block_size, max_len=16)
    runner.input_batch.add(
        NewSeqData(0, "0", 0, prompt, SamplingParams(), block_ids, 0))
    _, md = step_inputs(runner, {0: 6})
    print(f"block_size {block_size:2d}, blocks {block_ids}: "
          f"slot_mapping {md.slot_mapping.tolist()}")
