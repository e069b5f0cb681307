"""What a block hash covers: the parent's hash, the block's token ids in a
fixed-width encoding, and extra keys (here a tenant's cache_salt)."""

import hashlib

from folovllm.core.kv_cache_utils import ROOT_HASH, extend_block_hashes

B = 4
prompt = list(range(10, 22))  # 3 full blocks
plain: list[bytes] = []
salted: list[bytes] = []
extend_block_hashes(plain, prompt, B)
extend_block_hashes(salted, prompt, B, cache_salt="tenant-a")
# The salt is hashed into block 0 only; the chain carries it to the rest.
print("blocks that differ with a salt:",
      [i for i in range(3) if plain[i] != salted[i]])

# A separator-free text encoding is ambiguous: [1, 23] and [12, 3] both
# become "123". Four bytes per token id cannot be misread.
def as_text(ids: list[int]) -> bytes:
    return "".join(map(str, ids)).encode()


def as_u32(ids: list[int]) -> bytes:
    return b"".join(i.to_bytes(4, "little") for i in ids)


for encode in (as_text, as_u32):
    x, y = (hashlib.sha256(ROOT_HASH + encode(ids)).digest()
            for ids in ([1, 23], [12, 3]))
    print(f"{encode.__name__}: [1, 23] and [12, 3] collide:", x == y)
print("bytes hashed per block: 32 (parent) +", len(as_u32(prompt[:B])),
      "(tokens) + the salt, once")
