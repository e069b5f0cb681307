"""Capture order and one shared pool, in a model of the caching allocator
(the model is an assumption of this program, not a measurement). A capture
of n rows allocates its temporaries (bf16 rows of Qwen3-0.6B's hidden 1024
and MLP 3072: hidden, gate+up, MLP out) and frees them when it ends; freed
blocks stay in the pool, and a later capture takes the smallest free block
that is large enough (splitting it), else the pool grows."""

from folovllm.config import default_cuda_graph_sizes

MiB = 2**20


def temporaries(n: int) -> list[int]:
    return [n * 1024 * 2, n * 2 * 3072 * 2, n * 3072 * 2]


def pool_bytes(order: list[int], shared: bool = True) -> int:
    grown, free = 0, []
    for n in order:
        if not shared:
            free = []                     # a pool of its own per graph
        taken = []
        for size in temporaries(n):
            fits = sorted(b for b in free if b >= size)
            if fits:
                free.remove(fits[0])
                free.append(fits[0] - size)   # the rest of the block
            else:
                grown += size
            taken.append(size)
        free += taken                     # the capture ends: freed to the pool
    return grown


sizes = default_cuda_graph_sizes(256)
for name, order, shared in (("largest first, shared", sizes[::-1], True),
                            ("smallest first, shared", sizes, True),
                            ("one pool per graph", sizes, False)):
    print(f"{name:23s}: {pool_bytes(order, shared) / MiB:5.1f} MiB")
print(f"one capture of 256 rows: {sum(temporaries(256)) / MiB:.1f} MiB")
