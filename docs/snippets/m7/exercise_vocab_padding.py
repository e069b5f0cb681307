"""How many padding rows the vocab-parallel embedding adds: each rank
holds ceil(vocab / tp) rows, and the last rank's extra rows are zeros."""

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.vocab_parallel_embedding import \
    VocabParallelEmbedding

for name, vocab in (("SmolLM2-135M", 49_152), ("Qwen3-0.6B", 151_936)):
    for tp in (3, 5, 7):
        with as_rank(tp - 1, tp):
            last = VocabParallelEmbedding(vocab, 1)    # hidden 1: rows only
        rows = last.weight.shape[0]
        padding = rows - (last.vocab_end - last.vocab_start)
        print(f"{name} TP={tp}: {rows:6,d} rows/rank, last rank ids "
              f"[{last.vocab_start:,}, {last.vocab_end:,}), {padding} padding")
