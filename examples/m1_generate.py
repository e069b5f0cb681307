"""M1 example: generate with our engine on the default model — greedy, sampled, n/best_of, stops.

Run: python examples/m1_generate.py
"""

from folovllm import LLM, SamplingParams


def main() -> None:
    llm = LLM(device="cpu")  # the embedded SmolLM2-135M-Instruct

    greedy = SamplingParams(temperature=0, max_tokens=40)
    out = llm.chat([{"role": "user", "content": "What is the capital of France?"}], greedy,
                   use_tqdm=False)[0]
    c = out.outputs[0]
    print(f"greedy chat : {c.text!r} ({len(c.token_ids)} tokens, finish_reason={c.finish_reason})")

    seeded = SamplingParams(temperature=0.8, top_p=0.9, seed=0, max_tokens=24, n=2)
    out = llm.generate("Once upon a time", seeded, use_tqdm=False)[0]
    for c in out.outputs:
        print(f"sample {c.index}    : {c.text!r}")

    best = SamplingParams(temperature=1.0, seed=1, n=1, best_of=4, max_tokens=12)
    c = llm.generate("The best thing about Paris is", best, use_tqdm=False)[0].outputs[0]
    print(f"best of 4   : {c.text!r} (cumulative logprob {c.cumulative_logprob:.2f})")

    stopped = SamplingParams(temperature=0, max_tokens=60, stop=["."], include_stop_str_in_output=True)
    c = llm.chat([{"role": "user", "content": "Describe the sea."}], stopped, use_tqdm=False)[0].outputs[0]
    print(f"stop at '.' : {c.text!r} (stop_reason={c.stop_reason!r})")

    logp = SamplingParams(temperature=0, max_tokens=3, logprobs=2)
    c = llm.generate("1, 2, 3,", logp, use_tqdm=False)[0].outputs[0]
    for token, step in zip(c.token_ids, c.logprobs):
        alts = ", ".join(f"{lp.decoded_token!r}: {lp.logprob:.2f}" for lp in step.values())
        print(f"token {token:>6} : {alts}")


if __name__ == "__main__":
    main()
