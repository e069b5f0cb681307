"""M4 example: automatic prefix caching on a shared system prompt.

Three questions share one long system prompt and arrive one after another, as the turns of
different users would. The first computes the whole prompt; each later one finds the system
prompt's full blocks in the prefix cache and computes only the rest. For each request, watch
how many prompt tokens came from the cache and its time to first token next to an engine
without the cache (CPU timings are noisy: the saving grows with the shared length), then the
engine's hit rate; the answers must be exactly those of the engine without the cache.

Run: python examples/m4_prefix_caching.py
"""

from folovllm import LLM, SamplingParams

SYSTEM = ("You are a patient teacher of computer science. Answer in one short sentence, "
          "use plain words, and give a concrete example when it helps. ") * 4
QUESTIONS = ["What is a hash function?", "What is a linked list?",
             "Why do caches evict the least recently used entry?"]
PARAMS = SamplingParams(temperature=0, max_tokens=10)


def main() -> None:
    on = LLM(device="cpu")                              # prefix caching is on by default
    off = LLM(device="cpu", enable_prefix_caching=False)
    print(f"KV blocks of {on.llm_engine.kv_cache_manager.block_size} tokens")
    same = True
    for i, q in enumerate(QUESTIONS):   # one after another: later ones find the cache warm
        chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}]
        got = on.chat(chat, PARAMS, use_tqdm=False)[0]
        ref = off.chat(chat, PARAMS, use_tqdm=False)[0]
        same &= got.outputs[0].token_ids == ref.outputs[0].token_ids
        print(f"request {i}: {len(got.prompt_token_ids)} prompt tokens, "
              f"{got.num_cached_tokens:3d} from the cache; TTFT "
              f"{got.metrics.ttft * 1000:4.0f} ms (no cache: {ref.metrics.ttft * 1000:4.0f} ms)"
              f"\n  {got.outputs[0].text.strip()!r}")
    stats = on.llm_engine.prefix_cache_stats
    print(f"hit rate: {stats.hits} of {stats.queries} prompt tokens = {stats.hit_rate:.1%}")
    print(f"answers identical to an engine without the cache: {same}")
    assert same and stats.hits > 0


if __name__ == "__main__":
    main()
