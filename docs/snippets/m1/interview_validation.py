"""Every prompt is checked before any work; a failing step is contained."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu")
engine, runner = llm.llm_engine, llm.llm_engine.runner
bad_batch = ["a fine prompt", {"prompt_token_ids": [1, 10**7]}]
try:
    llm.generate(bad_batch, SamplingParams(max_tokens=2), use_tqdm=False)
except ValueError as exc:
    bad_token = str(exc)
    print(bad_token.split(";")[0])
print("queued after the error:", engine.get_num_unfinished_requests())

# One by one, the good request is queued before the bad one fails.
first = engine.add_request("a fine prompt", SamplingParams(max_tokens=2))
try:
    engine.add_request({"prompt_token_ids": [1, 10**7]},
                       SamplingParams(max_tokens=2))
except ValueError:
    left_queued = engine.get_num_unfinished_requests()
    print("queued after add_request one by one:", left_queued)
engine.abort_request(first)

# best_of above max_num_seqs is refused before any work.
try:
    llm.generate("a fine prompt", SamplingParams(best_of=300, temperature=1.0),
                 use_tqdm=False)
except ValueError as exc:
    too_many = str(exc)
    print(too_many)


def broken_model(*args):
    raise RuntimeError("the device went away")


runner.model.forward = broken_model  # a failure stays in its request
try:
    outs = llm.generate(["one", "two"],
                        SamplingParams(max_tokens=4, ignore_eos=True),
                        use_tqdm=False)
finally:
    del runner.model.forward  # back to the class's method
for o in outs:
    print(o.outputs[0].finish_reason, "|", o.error)
print("queued at the end:", engine.get_num_unfinished_requests())
