"""Block hashes for prefix caching: a full block is known by its tokens *and* everything before.

The hash of block ``i`` of a sequence covers the hash of block ``i - 1`` (its parent), the block's
own ``block_size`` token ids and extra keys (a per-request ``cache_salt``, in the first block
only): so two blocks with the same hash hold the same tokens after the same prefix, and their
K/V are identical. Only full blocks are hashed: a partly filled block still changes.

SHA-256 over a fixed byte encoding, as vLLM's default: a user who can choose prompts cannot craft
a collision that would make another user's request read their K/V. A fast non-cryptographic hash
(xxhash, Python's ``hash``) is several times cheaper per block but offers no such guarantee; the
hashing cost is small either way next to the forward pass (the M4 learning notes measure it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

BlockHash = bytes

# The parent of a sequence's first block: a fixed constant, so hashes are equal across processes.
ROOT_HASH: BlockHash = hashlib.sha256(b"folovllm prefix cache root").digest()


# --8<-- [start:hash_block]
def hash_block_tokens(parent: BlockHash, token_ids: Sequence[int],
                      extra_keys: str | None = None) -> BlockHash:
    """SHA-256 of the parent's hash, the block's token ids (4-byte little-endian each) and the
    extra keys; the three parts have fixed lengths or come last, so no two inputs share bytes."""
    h = hashlib.sha256(parent)
    h.update(np.asarray(token_ids, dtype="<u4").tobytes())
    if extra_keys is not None:
        h.update(b"\x00salt:" + extra_keys.encode())
    return h.digest()


def extend_block_hashes(hashes: list[BlockHash], token_ids: Sequence[int], block_size: int,
                        cache_salt: str | None = None) -> None:
    """Append the hashes of the full blocks of ``token_ids`` that ``hashes`` does not cover yet:
    each block is hashed once, when its last token arrives."""
    for i in range(len(hashes), len(token_ids) // block_size):
        parent = hashes[-1] if hashes else ROOT_HASH
        hashes.append(hash_block_tokens(parent, token_ids[i * block_size:(i + 1) * block_size],
                                        cache_salt if i == 0 else None))
# --8<-- [end:hash_block]
