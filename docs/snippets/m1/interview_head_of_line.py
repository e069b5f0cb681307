"""Head-of-line blocking: a short request waits for the whole batch."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu", model_impl="transformers")  # the M1 runner
engine = llm.llm_engine
greedy = dict(temperature=0, ignore_eos=True)
long_id = engine.add_request("Once upon a time",
                             SamplingParams(max_tokens=8, **greedy))
engine.step()  # step 1: the batch [long] is prefilled
short_id = engine.add_request("Hi", SamplingParams(max_tokens=1, **greedy))
done, step = {}, 1
while engine.has_unfinished_requests():
    step += 1
    for out in engine.step():
        if out.finished:
            done[out.request_id] = (step, out.metrics)
print("long request (8 tokens) finished at step", done[long_id][0])
print("short request (1 token) finished at step", done[short_id][0])
short_metrics, long_metrics = done[short_id][1], done[long_id][1]
print("short scheduled only after long finished:",
      short_metrics.first_scheduled_time >= long_metrics.finished_time)
