"""The LM head's logits: each rank computes its vocabulary block; they go
to rank 0 (a gather) rather than to every rank (an all-gather). Qwen3-0.6B's
vocabulary, 256 rows, float32 logits."""

rows, vocab, elem = 256, 151_936, 4
MiB = 2**20
for tp in (2, 4, 8):
    block = rows * -(-vocab // tp) * elem         # one rank's logits
    gather = (tp - 1) * block                     # all into rank 0
    all_gather = tp * (tp - 1) * block            # every rank gets all
    print(f"TP={tp}: block {block / MiB:5.1f} MiB, gather moves "
          f"{gather / MiB:6.1f} MiB, all-gather {all_gather / MiB:6.1f} MiB")
