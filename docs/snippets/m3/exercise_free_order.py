"""Exercise: which blocks does a new sequence get after two finish?"""

from folovllm.core.kv_cache_manager import KVCacheManager

kv = KVCacheManager(num_blocks=4, block_size=16)
a, b, c = 0, 1, 2  # sequence ids: the manager keys block tables by them
for seq_id in (a, b):
    kv.allocate_slots(seq_id, 20)  # 20 tokens: 2 blocks
print("A holds", kv.get_block_ids(a), "B holds", kv.get_block_ids(b))
kv.free(b)  # B finishes first, then A
kv.free(a)
kv.allocate_slots(c, 40)  # 40 tokens: 3 blocks
print("C gets", kv.get_block_ids(c))
