"""M2 example: continuous batching on our own model code, step by step.

Three requests of different lengths; a fourth arrives while they decode. Watch each step's kind
(prefill / decode), which sequences it runs, and the late request join without waiting for the
others to finish (M1's static batch would make it wait).

Run: python examples/m2_continuous_batching.py
"""

from folovllm import LLM, SamplingParams


def main() -> None:
    # M2's policy: a step prefills or decodes (M5 made chunked prefill the default)
    llm = LLM(device="cpu", max_model_len=256, kv_cache_memory_bytes=64 * 2**20,
              enable_chunked_prefill=False)
    engine = llm.llm_engine
    kv = engine.kv_cache_manager  # since M3: blocks of 16 tokens (M2 reserved a slot of 256)
    print(f"KV cache: {kv.num_blocks} blocks of {kv.block_size} tokens "
          f"({engine.runner.bytes_per_block / 2**10:.0f} KiB each)")
    lengths = {"short": 3, "medium": 6, "long": 10}
    ids = {engine.add_request(f"Tell me about {name} things.",
                              SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)): name
           for name, n in lengths.items()}
    for step in range(1, 40):
        if step == 3:
            late = engine.add_request("A late question?",
                                      SamplingParams(temperature=0, max_tokens=4, ignore_eos=True))
            ids[late] = "late"
            print("           <- 'late' arrives")
        sched_running = [ids[s.request.request_id] for s in engine.scheduler.running]
        outs = engine.step()
        kind = "prefill" if any(ids[o.request_id] not in sched_running for o in outs) else "decode "
        done = [ids[o.request_id] for o in outs if o.finished]
        print(f"step {step:2d} {kind} runs {sorted(ids[o.request_id] for o in outs)}"
              + (f"  finished: {done}" if done else ""))
        if not engine.has_unfinished_requests():
            break


if __name__ == "__main__":
    main()
