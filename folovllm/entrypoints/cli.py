"""The ``folovllm`` command line: version, model-info, generate, chat, bench."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

import folovllm
from folovllm.benchmarks import report


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="HF model directory (default: the embedded SmolLM2-135M-Instruct)")
    p.add_argument("--dtype", default="auto", help="auto|half|float16|bfloat16|float|float32")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda")
    p.add_argument("--load-format", default="auto", help="auto|dummy (random weights)")


def _add_sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--min-p", type=float, default=0.0)
    p.add_argument("--repetition-penalty", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", action="append", default=None, help="a stop string (repeatable)")


def _sampling_params(args: argparse.Namespace) -> folovllm.SamplingParams:
    return folovllm.SamplingParams(
        max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
        top_k=args.top_k, min_p=args.min_p, repetition_penalty=args.repetition_penalty,
        seed=args.seed, stop=args.stop)


def _make_llm(args: argparse.Namespace, **extra):
    from folovllm.entrypoints.llm import LLM

    _quiet_loading()
    return LLM(args.model, dtype=args.dtype, device=args.device, load_format=args.load_format,
               **extra)


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"folovllm {folovllm.__version__}")
    return 0


def _cmd_model_info(args: argparse.Namespace) -> int:
    from folovllm.config import ModelConfig
    from folovllm.model_executor.loader import load_hf_model, summarize_model

    _quiet_loading()
    config = ModelConfig(model=args.model, dtype=args.dtype, device=args.device,
                         load_format=args.load_format)
    print(summarize_model(config, load_hf_model(config)).format())
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    llm = _make_llm(args)
    params = _sampling_params(args)
    if args.chat:
        outs = llm.chat([[{"role": "user", "content": p}] for p in args.prompts], params,
                        use_tqdm=False)
    else:
        outs = llm.generate(list(args.prompts), params, use_tqdm=False)
    for prompt, out in zip(args.prompts, outs):
        c = out.outputs[0]
        print(f"### prompt: {prompt}\n{c.text}\n### {len(c.token_ids)} tokens, "
              f"finish_reason={c.finish_reason}")
    return 0


# --8<-- [start:stream_reply]
def _stream_reply(llm, token_ids: list[int], params) -> str:
    """Run one request step by step, printing text as it is produced.

    The engine already holds back text that could still turn out to be the start of a stop
    string, so each output's text only ever grows and the delta can be printed at once.
    """
    engine = llm.llm_engine
    request_id = engine.add_request({"prompt_token_ids": token_ids}, params)
    shown, text = 0, ""
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.request_id != request_id:
                continue
            text = out.outputs[0].text
            print(text[shown:], end="", flush=True)
            shown = len(text)
    print()
    return text
# --8<-- [end:stream_reply]


def _cmd_chat(args: argparse.Namespace) -> int:
    llm = _make_llm(args)
    params = _sampling_params(args)
    history: list[dict[str, str]] = []
    if args.system:
        history.append({"role": "system", "content": args.system})
    print("folovllm chat: type a message, /reset to clear the history, /exit or Ctrl-D to quit.")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            history = history[:1] if args.system else []
            continue
        if not line:
            continue
        history.append({"role": "user", "content": line})
        try:
            prompt_ids = llm.encode_chat(history)
            llm.llm_engine.process_prompt({"prompt_token_ids": prompt_ids})
        except ValueError as e:  # e.g. the conversation outgrew max_model_len: keep the session
            history.pop()
            print(f"error: {e}\n(type /reset to start a new conversation)")
            continue
        print("assistant> ", end="", flush=True)
        reply = _stream_reply(llm, prompt_ids, params)
        history.append({"role": "assistant", "content": reply})


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _cmd_bench(args: argparse.Namespace) -> int:
    from folovllm.benchmarks.throughput import Workload, format_table, run_throughput

    workload = Workload(name=args.workload, num_prompts=args.num_prompts,
                        input_len=args.input_len, output_len=args.output_len,
                        seed=args.bench_seed, repeats=args.repeats,
                        hf_batch_size=args.hf_batch_size, range_ratio=args.range_ratio,
                        prefix_len=args.prefix_len, long_len=args.long_len,
                        long_every=args.long_every)
    engines = tuple(_csv(args.engines))
    _quiet_loading()
    model_kwargs = dict(model=args.model, dtype=args.dtype, device=args.device,
                        load_format=args.load_format)
    if args.max_model_len is not None:
        model_kwargs["max_model_len"] = args.max_model_len
    if args.gpu_memory_utilization is not None:
        model_kwargs["gpu_memory_utilization"] = args.gpu_memory_utilization
    result = run_throughput(model_kwargs, workload, engines, command=args.command_line).to_dict()
    report(format_table(result), result, args.output_json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="folovllm", description="FoloVLLM: a small, readable vLLM-style inference engine."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version").set_defaults(func=_cmd_version)

    p = sub.add_parser("model-info", help="load a model and print its summary")
    _add_model_args(p)
    p.set_defaults(func=_cmd_model_info)

    p = sub.add_parser("generate", help="generate completions for one or more prompts")
    p.add_argument("prompts", nargs="+", help="prompt text(s)")
    p.add_argument("--chat", action="store_true", help="wrap each prompt in the chat template")
    _add_model_args(p)
    _add_sampling_args(p)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("chat", help="an interactive chat that streams the reply")
    p.add_argument("--system", default=None, help="an optional system message")
    _add_model_args(p)
    _add_sampling_args(p)
    p.set_defaults(func=_cmd_chat)

    p = sub.add_parser("bench", help="throughput: our engine vs transformers generate")
    p.add_argument("--workload", default="random",
                   help="random | nanovllm | shared-prefix | long-prompt")
    p.add_argument("--prefix-len", type=int, default=512,
                   help="shared-prefix: tokens every prompt shares before its own input-len")
    p.add_argument("--long-len", type=int, default=4096, help="long-prompt: long prompts' length")
    p.add_argument("--long-every", type=int, default=8, help="long-prompt: every n-th is long")
    p.add_argument("--engines", default="folovllm,folovllm-m1,transformers",
                   help="comma-separated: folovllm, folovllm-m1, transformers")
    p.add_argument("--hf-batch-size", type=int, default=None,
                   help="static batch size of transformers generate (default: all prompts)")
    p.add_argument("--range-ratio", type=float, default=0.0,
                   help="random workload: lengths uniform in len x [1-r, 1+r]")
    p.add_argument("--max-model-len", type=int, default=None)
    p.add_argument("--gpu-memory-utilization", type=float, default=None)
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--bench-seed", type=int, default=0, help="seed of the random prompts")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per engine (best is kept)")
    p.add_argument("--output-json", default=None, help="also write the results to this file")
    _add_model_args(p)
    p.set_defaults(func=_cmd_bench)

    return parser


def _quiet_loading() -> None:
    """Keep transformers' weight-loading progress bars out of the CLI's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["folovllm", *argv])
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
