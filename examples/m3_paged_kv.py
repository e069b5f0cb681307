"""M3 example: the paged KV cache at work, step by step.

A deliberately tiny cache (24 blocks of 4 tokens) serves six requests. Watch each step's blocks
in use, sequences preempted when the blocks run out and recomputed later, and check at the end
that the outputs are exactly those of a cache big enough to need no preemption.

Run: python examples/m3_paged_kv.py
"""

from folovllm import LLM, SamplingParams

PROMPTS = [f"Write a short line about the number {i}." for i in range(6)]
PARAMS = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)


def main() -> None:
    llm = LLM(device="cpu", max_model_len=256, block_size=4, num_gpu_blocks=24)
    engine = llm.llm_engine
    kv = engine.kv_cache_manager
    print(f"KV cache: {kv.num_blocks} blocks of {kv.block_size} tokens")
    for p in PROMPTS:
        engine.add_request(p, PARAMS)
    outputs, step = {}, 0
    while engine.has_unfinished_requests():
        before = engine.scheduler.num_preemptions
        for out in engine.step():
            outputs[out.request_id] = out
        step += 1
        running = [s.seq.seq_id for s in engine.scheduler.running]
        tables = {s.seq.seq_id: kv.get_block_ids(s.seq.seq_id) for s in engine.scheduler.running[:2]}
        preempted = engine.scheduler.num_preemptions - before
        print(f"step {step:2d}: {kv.num_blocks - kv.num_free_blocks():2d}/{kv.num_blocks} blocks "
              f"used, running {running}" + (f", preempted {preempted}" if preempted else "")
              + (f"  block tables {tables}" if step % 8 == 1 else ""))
    print(f"{engine.scheduler.num_preemptions} preemptions; all blocks free again: "
          f"{kv.num_free_blocks() == kv.num_blocks}")
    big = LLM(device="cpu", max_model_len=256).generate(PROMPTS, PARAMS, use_tqdm=False)
    same = all(outputs[str(i)].outputs[0].token_ids == b.outputs[0].token_ids
               for i, b in enumerate(big))
    print(f"outputs identical to a cache with no preemption: {same}")
    assert same and kv.num_free_blocks() == kv.num_blocks


if __name__ == "__main__":
    main()
