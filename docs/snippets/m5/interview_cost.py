"""What chunking a prompt costs: the same attention arithmetic (every query
still sees the same keys), but one pass over the weights per step, and each
chunk reads the K/V of every earlier chunk back from the paged cache."""

L = 8192                                   # prompt tokens


def cost(chunk: int) -> tuple[int, int, int]:
    starts = range(0, L, chunk)
    steps = len(starts)
    # query i of a chunk starting at s attends to keys 0..s+i (causal)
    scores = sum(sum(s + i + 1 for i in range(min(chunk, L - s)))
                 for s in starts)
    reread = sum(starts)                   # earlier K/V read from the cache
    return steps, scores, reread


whole = cost(L)
print("chunk  steps  attention scores  K/V tokens read back")
for chunk in (512, 1024, 2048, 4096, 8192):
    steps, scores, reread = cost(chunk)
    print(f"{chunk:5d} {steps:6d} {scores / whole[1]:11.2f} x whole"
          f" {reread:12,d} ({reread / L:.1f} x L)")
