"""Exercise: which blocks does a new sequence get after two finish?"""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

kv = KVCacheManager(num_blocks=4, block_size=16)
a = Sequence(0, SequenceData([1] * 20))  # 20 tokens: 2 blocks
b = Sequence(1, SequenceData([1] * 20))
for seq in (a, b):
    kv.allocate_slots(seq, 20)
print("A holds", a.block_ids, "B holds", b.block_ids)
kv.free(b)  # B finishes first, then A
kv.free(a)
c = Sequence(2, SequenceData([1] * 40))  # 40 tokens: 3 blocks
kv.allocate_slots(c, 40)
print("C gets", c.block_ids)
