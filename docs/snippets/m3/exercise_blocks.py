"""Exercise: blocks of 16 tokens; when does a sequence need a new one?"""

from folovllm.core.kv_cache_manager import KVCacheManager

kv = KVCacheManager(num_blocks=8, block_size=16)
for tokens in (16, 17, 33, 48, 49):
    print(f"{tokens:2d} tokens -> {kv.num_blocks_for(tokens)} blocks")
