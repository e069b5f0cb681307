"""Block hashes chain: a block is known by its tokens and by everything
before it, so one dict lookup per block finds the longest cached prefix."""

from folovllm.core.kv_cache_utils import (ROOT_HASH, extend_block_hashes,
                                          hash_block_tokens)

B = 4
a = [1, 2, 3, 4, 50, 51, 52, 53, 9]  # 9 tokens: 2 full blocks and 1 token
b = [5, 6, 7, 8, 50, 51, 52, 53, 9]  # the same second block, other first
ha: list[bytes] = []
hb: list[bytes] = []
extend_block_hashes(ha, a, B)
extend_block_hashes(hb, b, B)
print("full blocks hashed:", len(ha), "| the last token waits for 3 more")
print("block 1 holds the same tokens in a and b:", a[4:8] == b[4:8])
print("block 1 has the same hash in a and b:", ha[1] == hb[1])
# The hash of block i is sha256(hash of block i - 1, tokens of block i).
print("ha[1] == sha256(ha[0], block 1):",
      ha[1] == hash_block_tokens(hash_block_tokens(ROOT_HASH, a[:4]), a[4:8]))

# A lookup walks a prompt's hashes in order and stops at the first miss.
cached = {h: f"block {i}" for i, h in enumerate(ha)}
for name, prompt in [("same 9 tokens", a), ("other first block", b)]:
    hashes: list[bytes] = []
    extend_block_hashes(hashes, prompt + [0] * 3, B)
    hits = 0
    for h in hashes:
        if h not in cached:
            break
        hits += 1
    print(f"{name}: {hits} of {len(hashes)} blocks found")
