"""Exercise: where does position 5 of a sequence go in the cache?"""

from types import SimpleNamespace

from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner

seq = Sequence(0, SequenceData(list(range(6))))  # positions 0..5
for block_size, block_ids in ((16, [3]), (4, [7, 2])):
    seq.block_ids = block_ids  # M2: one 16-token slot; M3: 4-token blocks
    runner = SimpleNamespace(block_size=block_size, _to_device=lambda t: t)
    _, md = ModelRunner.prepare_inputs(runner, [seq], is_prefill=True)
    print(f"block_size {block_size:2d}, blocks {block_ids}: "
          f"slot_mapping {md.slot_mapping.tolist()}")
