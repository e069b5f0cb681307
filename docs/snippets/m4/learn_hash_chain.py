"""Block hashes: a chain over whole blocks, with the parent in each hash.

Two chat requests share a 40-token system prompt and then differ. With
blocks of 16 tokens, only the full blocks are hashed, each hash covers the
parent's hash, and a cache_salt changes every hash of the chain.
"""

from folovllm.core.kv_cache_utils import (ROOT_HASH, extend_block_hashes,
                                          hash_block_tokens)

B = 16
system = list(range(1000, 1040))             # 40 shared tokens
alice = system + list(range(2000, 2013))     # 53 tokens: 3 full blocks
bob = system + list(range(3000, 3025))       # 65 tokens: 4 full blocks


def chain(tokens: list[int], salt: str | None = None) -> list[bytes]:
    hashes: list[bytes] = []
    extend_block_hashes(hashes, tokens, B, salt)
    return hashes


def short(hashes: list[bytes]) -> str:
    return " ".join(h.hex()[:8] for h in hashes)


a, b = chain(alice), chain(bob)
print(f"alice {len(alice)} tokens -> {len(a)} hashes: {short(a)}")
print(f"bob   {len(bob)} tokens -> {len(b)} hashes: {short(b)}")
same = sum(x == y for x, y in zip(a, b))
print(f"equal leading hashes: {same} blocks = {same * B} tokens "
      f"(the prompts share {len(system)})")

# The same 16 tokens after a different parent: a different hash, since
# their K/V depend on every token before them.
block = list(range(500, 516))
h1 = hash_block_tokens(hash_block_tokens(ROOT_HASH, system[:16]), block)
h2 = hash_block_tokens(hash_block_tokens(ROOT_HASH, alice[16:32]), block)
print(f"same block, different parent: {h1.hex()[:8]} vs {h2.hex()[:8]}")

# A salt enters block 0 only, yet changes every hash after it.
salted = chain(alice, salt="tenant-a")
print(f"alice with cache_salt: {short(salted)}")
print("hashes shared with the unsalted chain:",
      sum(x == y for x, y in zip(a, salted)))
