"""Block hashes against a radix tree: FoloVLLM and vLLM share whole blocks
found by hash; SGLang's RadixAttention walks a tree of token runs and can
share any number of tokens. The difference is at most B - 1 per prompt.

No model: the KV cache manager looks prompts up after one is cached."""

import os

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

B = 16
cached_prompt = list(range(1000, 1100))  # 100 tokens computed earlier
kv = KVCacheManager(num_blocks=64, block_size=B, enable_caching=True)
first = Sequence(0, SequenceData(tuple(cached_prompt)))
kv.allocate_slots(0, 100, [])
first.data.num_computed_tokens = 100
kv.cache_blocks(first)

print(f"{'shared tokens':>13} {'hashed blocks':>14} {'token tree':>11}")
for shared in (15, 16, 40, 99):
    prompt = cached_prompt[:shared] + [7] * 20
    seq = Sequence(1 + shared, SequenceData(tuple(prompt)))
    _, by_blocks = kv.get_computed_blocks(seq)
    by_tokens = len(os.path.commonprefix([cached_prompt, prompt]))
    print(f"{shared:13} {by_blocks:14} {by_tokens:11}")
