"""Exercise: the same 4 tokens, hashed as a block after different parents."""

from folovllm.core.kv_cache_utils import (
    ROOT_HASH,
    extend_block_hashes,
    hash_block_tokens,
)

block = [50, 51, 52, 53]
after_a = hash_block_tokens(hash_block_tokens(ROOT_HASH, [1, 2, 3, 4]), block)
after_b = hash_block_tokens(hash_block_tokens(ROOT_HASH, [5, 6, 7, 8]), block)
print("after [1, 2, 3, 4]:", after_a.hex()[:16])
print("after [5, 6, 7, 8]:", after_b.hex()[:16])

# The salt enters block 0 only, yet every later hash changes with it.
tokens = list(range(12))
plain, salted = [], []
extend_block_hashes(plain, tokens, 4)
extend_block_hashes(salted, tokens, 4, cache_salt="tenant-a")
for i, (h, s) in enumerate(zip(plain, salted)):
    print(f"block {i}: no salt {h.hex()[:8]}, salt {s.hex()[:8]}")
