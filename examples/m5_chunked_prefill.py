"""M5 example: chunked prefill, a long prompt arriving while others decode.

Two short questions are decoding when a long prompt arrives. With a token budget of 32 tokens a
step, the long prompt is computed in chunks that share each step with the two decodes, which
keep getting a token every step; without chunked prefill its whole prompt takes one step of its
own, and the decodes wait for it. Watch each step's split (``LLMEngine.last_step_stats``) and the
short answers' longest wait between two tokens (CPU timings are noisy: the gap grows with the
prompt's length), then check that the answers are exactly those of an engine without chunked
prefill.

Run: python examples/m5_chunked_prefill.py
"""

from folovllm import LLM, SamplingParams

SHORT = ["What is a token budget?", "Name a prime number."]
LONG = ("Chunked prefill splits a long prompt into pieces. Each step has one budget of tokens: "
        "the sequences that are decoding take one token each, and a piece of the prompt takes "
        "what is left. ") * 4 + "Summarise this in one short sentence."
PARAMS = SamplingParams(temperature=0, max_tokens=12)


def run(llm: LLM) -> dict[str, list[int]]:
    """Serve the short questions, add the long prompt after two steps, print each step."""
    engine, tokenizer = llm.llm_engine, llm.get_tokenizer()
    prompts = {f"short{i}": q for i, q in enumerate(SHORT)} | {"long": LONG}
    done, budget = {}, engine.config.scheduler_config.max_num_batched_tokens
    print(f"token budget {budget}, chunked prefill "
          f"{engine.config.scheduler_config.enable_chunked_prefill}")
    for rid in ("short0", "short1"):
        engine.add_request(prompts[rid], PARAMS, request_id=rid)
    step = 0
    while engine.has_unfinished_requests():
        step += 1
        if step == 3:
            engine.add_request(LONG, PARAMS, request_id="long")
            print(f"  the long prompt arrives: {len(tokenizer(LONG).input_ids)} tokens")
        done.update((o.request_id, o) for o in engine.step() if o.finished)
        s = engine.last_step_stats
        if step <= 10:
            print(f"  step {step:2d}: {s.num_decode_tokens} decode + {s.num_prefill_tokens:3d} "
                  f"prefill tokens ({s.num_running_seqs} running)")
    for rid in prompts:
        print(f"  {rid}: {done[rid].outputs[0].text.strip()!r}")
    waits = [t for rid in ("short0", "short1") for t in done[rid].metrics.inter_token_latencies]
    print(f"  the short answers' longest wait between two tokens: {max(waits) * 1000:.0f} ms")
    return {rid: out.outputs[0].token_ids for rid, out in done.items()}


def main() -> None:
    chunked = run(LLM(device="cpu", max_num_seqs=4, max_num_batched_tokens=32))
    whole = run(LLM(device="cpu", max_num_seqs=4, enable_chunked_prefill=False))
    same = chunked == whole
    print(f"answers identical with and without chunked prefill: {same}")
    assert same


if __name__ == "__main__":
    main()
