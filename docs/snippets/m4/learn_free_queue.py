"""The block pool as a prefix cache: ref counts, the LRU free queue, hits
that leave it from the middle, eviction, and a preempted sequence that
resumes from its own blocks.

Six blocks of 4 tokens, driven through the engine's own KVCacheManager; a
stand-in for the model marks every allocated token as computed.
"""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

kv = KVCacheManager(num_blocks=6, block_size=4, enable_caching=True)
pool = kv.block_pool


def show(what: str) -> None:
    """The free queue, head (evicted next) first; * marks a cached block."""
    queue = " ".join(f"{b.block_id}{'*' if b.block_hash else ''}"
                     for b in pool.free_block_queue.blocks())
    held = " ".join(f"{b.block_id}:{b.ref_cnt}" for b in pool.blocks
                    if b.ref_cnt)
    print(f"{what:22s} free [{queue}]  held (id:ref) [{held}]")


def run(seq_id: int, tokens: list[int]) -> Sequence:
    """Admit a prompt: look up the cache, allocate, compute, register."""
    seq = Sequence(seq_id, SequenceData(tuple(tokens)))
    hits, num_hit = kv.get_computed_blocks(seq)
    kv.allocate_slots(seq_id, len(tokens), hits)
    seq.data.num_computed_tokens = len(tokens)
    kv.cache_blocks(seq)       # after the step: its full blocks findable
    print(f"seq {seq_id}: {len(tokens)} tokens, {num_hit} from the cache, "
          f"table {kv.get_block_ids(seq_id)}")
    return seq


show("start")
run(0, list(range(100, 112)))          # 12 tokens: 3 full blocks
show("seq 0 running")
kv.free(0)                             # finished: tail block first
show("seq 0 finished")
run(1, [7, 7, 7])                      # an unrelated prompt
kv.free(1)
show("seq 1 finished")
run(2, list(range(100, 108)) + [1, 2, 3])   # shares 8 tokens with seq 0
show("seq 2 hit blocks 0, 1")
run(5, list(range(100, 108)) + [4])    # the same 8 tokens: shared blocks
show("seq 5 shares 0, 1")
kv.free(5)
show("seq 5 finished")
run(3, list(range(200, 211)))          # 3 blocks: evicts from the head
show("seq 3 runs: 2 evicted")

# Preemption: seq 3 gives its blocks back but keeps its hashes. Seq 4
# needs one block and takes the head: seq 3's tail. Seq 3 comes back and
# finds its first two blocks where it left them.
kv.free(3, keep_hashes=True)
show("seq 3 preempted")
run(4, [9, 9])
seq3 = Sequence(3, SequenceData(tuple(range(200, 211))))
hits, num_hit = kv.get_computed_blocks(seq3)
print(f"seq 3 resumes: {num_hit} of 11 tokens from its own blocks "
      f"{[b.block_id for b in hits]}")
