"""Head-of-line blocking: a 1-token request arrives behind a 6-token one."""

from folovllm import LLM, SamplingParams

engine = LLM(device="cpu", model_impl="transformers").llm_engine
greedy = {"temperature": 0, "ignore_eos": True}
long_req = engine.add_request("The capital of France is",
                              SamplingParams(max_tokens=6, **greedy))
engine.step()  # prefill: the static batch now holds only this request
short_req = engine.add_request("Hi", SamplingParams(max_tokens=1, **greedy))
step, done = 1, {}
while engine.has_unfinished_requests():
    step += 1
    for out in engine.step():
        if out.finished:
            done[out.request_id] = out.metrics
            print(f"step {step}: request {out.request_id} finished")
waited = done[short_req].first_scheduled_time >= done[long_req].finished_time
print("the short request waited for the whole batch:", waited)
