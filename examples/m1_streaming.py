"""M1 example: drive the engine step by step and stream text as it is produced.

Run: python examples/m1_streaming.py
"""

from folovllm import LLM, SamplingParams


def main() -> None:
    llm = LLM(device="cpu")
    engine = llm.llm_engine
    params = SamplingParams(temperature=0, max_tokens=48, stop=["\n\n"])
    ids = llm.encode_chat([{"role": "user", "content": "Name three colours of the rainbow."}])
    request_id = engine.add_request({"prompt_token_ids": ids}, params)
    shown = 0
    steps = 0
    while engine.has_unfinished_requests():
        for out in engine.step():
            # the engine holds back what could still be the start of a stop string,
            # so the text only grows and each step's delta can be printed at once
            text = out.outputs[0].text
            print(text[shown:], end="", flush=True)
            shown = len(text)
        steps += 1
    print(f"\n[{steps} engine steps for request {request_id}]")


if __name__ == "__main__":
    main()
