"""Tenants: a cache_salt per tenant keeps their cached blocks apart. A hit
is visible (in num_cached_tokens here, in time to first token anywhere),
so without a salt one tenant can test whether another sent a prompt.

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
llm = LLM(tiny, device="cpu", block_size=4)
params = SamplingParams(temperature=0, max_tokens=4, ignore_eos=True)
secret = list(range(60, 73))  # a prompt tenant A sent: 13 tokens


def send(salt: str | None):
    prompt = {"prompt_token_ids": secret}
    if salt is not None:
        prompt["cache_salt"] = salt
    return llm.generate(prompt, params, use_tqdm=False)[0]


runs = [("A, no salt", None), ("B probes, no salt", None),
        ("A, salt-a", "salt-a"), ("B probes, salt-b", "salt-b"),
        ("A again, salt-a", "salt-a")]
outs = {}
for name, salt in runs:
    outs[name] = send(salt)
    print(f"{name:17}: {outs[name].num_cached_tokens:2} cached tokens")
tokens = {tuple(o.outputs[0].token_ids) for o in outs.values()}
print("the same output tokens every time:", len(tokens) == 1)
for bad in ("", 7):
    try:
        llm.generate({"prompt_token_ids": secret, "cache_salt": bad},
                     params, use_tqdm=False)
    except ValueError as error:
        print(error)
