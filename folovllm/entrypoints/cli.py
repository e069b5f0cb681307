"""The ``folovllm`` command line: version, model-info, generate, chat, bench.

Every command checks all of its arguments before it imports torch or transformers (a second or
two) or loads a model, so ``folovllm --help`` answers at once and a mistyped option fails with the
same one-line message as the Python API, in a fraction of a second. The heavy modules are
imported inside the commands, after the checks.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import folovllm
from folovllm.benchmarks import check_output_json, report
from folovllm.sampling_params import SamplingParams
from folovllm.validation import (
    DEVICES,
    LOAD_FORMATS,
    MODEL_DTYPES,
    check_choice,
    check_fraction,
    check_int,
    check_model_dir,
)

if TYPE_CHECKING:
    from folovllm.entrypoints.llm import LLM
    from folovllm.outputs import CompletionOutput


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's formatter that appends ``(default: ...)`` to every option's help.

    An option whose default is ``None`` says in its own help what ``None`` means (the default
    model, a fresh seed, ...), so "(default: None)" is not appended to it.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="Hugging Face model directory (default: the embedded "
                        "SmolLM2-135M-Instruct, converted on first use into $FOLOVLLM_CACHE or "
                        "~/.cache/folovllm)")
    p.add_argument("--dtype", default="auto",
                   help=f"one of {', '.join(MODEL_DTYPES)}; auto: float32 on the CPU, the "
                        "checkpoint's dtype (bfloat16 for a float32 one) on a GPU")
    p.add_argument("--device", default="auto",
                   help=f"one of {', '.join(DEVICES)}; auto: cuda when a GPU is visible")
    p.add_argument("--load-format", default="auto",
                   help=f"one of {', '.join(LOAD_FORMATS)}; dummy: random weights, only "
                        "config.json is read")


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--enforce-eager", action="store_true",
                   help="run every step eagerly; otherwise decode steps replay CUDA graphs "
                        "on a GPU")
    p.add_argument("--no-async-scheduling", action="store_true",
                   help="wait for each step before scheduling the next; otherwise, on one "
                        "GPU, the next step is scheduled while the GPU runs this one")
    p.add_argument("--tensor-parallel-size", type=int, default=1,
                   help="ranks (processes, one GPU each on CUDA) that split every layer")


def _check_engine_args(args: argparse.Namespace) -> None:
    """The engine options' checks that need no torch; whether the model's heads split over the
    ranks needs its config, and is checked when the engine starts, before any rank starts."""
    check_int("tensor_parallel_size", args.tensor_parallel_size, 1)


def _check_model_args(args: argparse.Namespace) -> None:
    """The model options' checks that need no torch. Whether CUDA is there (``--device cuda``)
    needs torch, and is checked when the engine starts, before the weights are read."""
    check_choice("dtype", args.dtype, MODEL_DTYPES)
    check_choice("device", args.device, DEVICES)
    check_choice("load_format", args.load_format, LOAD_FORMATS)
    if args.model is not None:
        check_model_dir(args.model)


def _add_sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-tokens", type=int, default=128, help="most tokens to generate")
    p.add_argument("--temperature", type=float, default=0.0, help="0 means greedy decoding")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="keep the most likely tokens up to this total probability")
    p.add_argument("--top-k", type=int, default=0,
                   help="keep the k most likely tokens; 0 keeps all")
    p.add_argument("--min-p", type=float, default=0.0,
                   help="drop tokens less likely than min-p times the most likely one")
    p.add_argument("--repetition-penalty", type=float, default=1.0,
                   help="penalise tokens already seen; 1 disables it")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of this request's sampling (default: none, a fresh draw every run)")
    p.add_argument("--stop", action="append", default=None,
                   help="a stop string, repeat it for several (default: none)")


def _sampling_params(args: argparse.Namespace) -> SamplingParams:
    return SamplingParams(
        max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
        top_k=args.top_k, min_p=args.min_p, repetition_penalty=args.repetition_penalty,
        seed=args.seed, stop=args.stop)


def _make_llm(args: argparse.Namespace, **extra: Any) -> LLM:
    from folovllm.entrypoints.llm import LLM

    _quiet_loading()
    return LLM(args.model, dtype=args.dtype, device=args.device, load_format=args.load_format,
               enforce_eager=args.enforce_eager or None,
               async_scheduling=False if args.no_async_scheduling else None,
               tensor_parallel_size=args.tensor_parallel_size, **extra)


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"folovllm {folovllm.__version__}")
    return 0


def _cmd_model_info(args: argparse.Namespace) -> int:
    _check_model_args(args)
    from folovllm.config import ModelConfig
    from folovllm.model_executor.loader import load_hf_model, summarize_model

    _quiet_loading()
    config = ModelConfig(model=args.model, dtype=args.dtype, device=args.device,
                         load_format=args.load_format)
    print(summarize_model(config, load_hf_model(config)).format())
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    params = _sampling_params(args)
    _check_model_args(args)
    _check_engine_args(args)
    llm = _make_llm(args)
    start = time.perf_counter()
    if args.chat:
        outs = llm.chat([[{"role": "user", "content": p}] for p in args.prompts], params,
                        use_tqdm=not args.quiet)
    else:
        outs = llm.generate(list(args.prompts), params, use_tqdm=not args.quiet)
    seconds = time.perf_counter() - start
    for prompt, out in zip(args.prompts, outs):
        c = out.outputs[0]
        print(f"### prompt: {prompt}\n{c.text}\n### {len(c.token_ids)} tokens, "
              f"finish_reason={c.finish_reason}")
    if not args.quiet:
        tokens = sum(len(c.token_ids) for out in outs for c in out.outputs)
        print(f"{len(outs)} {'prompt' if len(outs) == 1 else 'prompts'}, {tokens} output tokens "
              f"in {seconds:.2f} s: {tokens / seconds:.1f} output tok/s", file=sys.stderr)
    return 0


# --8<-- [start:stream_reply]
def _stream_reply(llm: LLM, token_ids: list[int], params: SamplingParams) -> CompletionOutput:
    """Run one request step by step, printing text as it is produced; returns the final output
    (its ``finish_reason`` says whether ``max_tokens`` cut the reply).

    The engine already holds back text that could still turn out to be the start of a stop
    string, so each output's text only ever grows and the delta can be printed at once.
    """
    engine = llm.llm_engine
    request_id = engine.add_request({"prompt_token_ids": token_ids}, params)
    shown, reply = 0, None
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.request_id != request_id:
                continue
            reply = out.outputs[0]
            print(reply.text[shown:], end="", flush=True)
            shown = len(reply.text)
    print()
    return reply
# --8<-- [end:stream_reply]


def _read_message(interactive: bool) -> str | None:
    """The next line typed (``None`` at the end of the input).

    A terminal echoes what the user types after the ``you>`` prompt. Piped input is not echoed,
    so then the line is printed after the prompt, and the output reads as a transcript with one
    line per turn.
    """
    try:
        line = input("you> " if interactive else "")
    except EOFError:
        if interactive:
            print()  # end the prompt's line
        return None
    if not interactive:
        print(f"you> {line}")
    return line.strip()


def _cmd_chat(args: argparse.Namespace) -> int:
    params = _sampling_params(args)
    _check_model_args(args)
    _check_engine_args(args)
    llm = _make_llm(args)
    history: list[dict[str, str]] = []
    if args.system:
        history.append({"role": "system", "content": args.system})
    interactive = sys.stdin.isatty()
    if interactive:
        print("folovllm chat: type a message, /reset to clear the history, /exit or Ctrl-D to "
              "quit.")
    while (line := _read_message(interactive)) is not None:
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
            llm.llm_engine.processor.process_prompt({"prompt_token_ids": prompt_ids})
        except ValueError as e:  # e.g. the conversation outgrew max_model_len: keep the session
            history.pop()
            print(f"error: {e}\n(type /reset to start a new conversation)")
            continue
        print("assistant> ", end="", flush=True)
        reply = _stream_reply(llm, prompt_ids, params)
        if reply.finish_reason == "length":
            print(f"[reply cut at --max-tokens {params.max_tokens}: raise it for longer replies]")
        history.append({"role": "assistant", "content": reply.text})
    return 0


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _cmd_bench(args: argparse.Namespace) -> int:
    from folovllm.benchmarks.workload import Workload, check_engines

    workload = Workload(name=args.workload, num_prompts=args.num_prompts,
                        input_len=args.input_len, output_len=args.output_len,
                        seed=args.bench_seed, repeats=args.repeats,
                        hf_batch_size=args.hf_batch_size, range_ratio=args.range_ratio,
                        prefix_len=args.prefix_len, long_len=args.long_len,
                        long_every=args.long_every)
    engines = tuple(_csv(args.engines))
    check_engines(engines)
    _check_model_args(args)
    _check_engine_args(args)
    if args.max_model_len is not None:
        check_int("max_model_len", args.max_model_len, 1)
    if args.gpu_memory_utilization is not None:
        check_fraction("gpu_memory_utilization", args.gpu_memory_utilization)
    for name in ("max_num_seqs", "max_num_batched_tokens"):
        if getattr(args, name) is not None:
            check_int(name, getattr(args, name), 1)
    check_int("long_prefill_token_threshold", args.long_prefill_token_threshold, 0)
    check_output_json(args.output_json)
    from folovllm.benchmarks.throughput import format_table, run_throughput

    _quiet_loading()
    model_kwargs = dict(model=args.model, dtype=args.dtype, device=args.device,
                        load_format=args.load_format, enforce_eager=args.enforce_eager or None,
                        async_scheduling=False if args.no_async_scheduling else None,
                        tensor_parallel_size=args.tensor_parallel_size)
    if args.max_model_len is not None:
        model_kwargs["max_model_len"] = args.max_model_len
    for name in ("gpu_memory_utilization", "max_num_seqs", "max_num_batched_tokens"):
        if getattr(args, name) is not None:
            model_kwargs[name] = getattr(args, name)
    if args.long_prefill_token_threshold:
        model_kwargs["long_prefill_token_threshold"] = args.long_prefill_token_threshold
    result = run_throughput(model_kwargs, workload, engines, command=args.command_line,
                            timeline=args.timeline).to_dict()
    report(format_table(result), result, args.output_json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="folovllm", description="FoloVLLM: a small, readable vLLM-style inference engine.",
        formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"folovllm {folovllm.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, func: Callable[[argparse.Namespace], int]
                ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary, description=summary, formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    command("version", "print the version", _cmd_version)

    p = command("model-info", "load a model and print its summary", _cmd_model_info)
    _add_model_args(p)

    p = command("generate", "generate completions for one or more prompts", _cmd_generate)
    p.add_argument("prompts", nargs="+", help="prompt text(s)")
    p.add_argument("--chat", action="store_true", help="wrap each prompt in the chat template")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no closing speed line (both go to stderr)")
    _add_model_args(p)
    _add_engine_args(p)
    _add_sampling_args(p)

    p = command("chat", "an interactive chat that streams the reply", _cmd_chat)
    p.add_argument("--system", default=None, help="a system message (default: none)")
    _add_model_args(p)
    _add_engine_args(p)
    _add_sampling_args(p)

    p = command("bench", "throughput: our engine vs transformers generate", _cmd_bench)
    p.add_argument("--workload", default="random",
                   help="random | nanovllm | shared-prefix | long-prompt")
    p.add_argument("--prefix-len", type=int, default=512,
                   help="shared-prefix: tokens every prompt shares before its own input-len")
    p.add_argument("--long-len", type=int, default=4096, help="long-prompt: long prompts' length")
    p.add_argument("--long-every", type=int, default=8, help="long-prompt: every n-th is long")
    p.add_argument("--engines", default="folovllm,transformers",
                   help="comma-separated: folovllm, folovllm-no-prefix-cache, "
                        "folovllm-no-chunked-prefill, folovllm-eager, folovllm-sync, "
                        "transformers")
    p.add_argument("--hf-batch-size", type=int, default=None,
                   help="static batch size of transformers generate (default: all prompts)")
    p.add_argument("--range-ratio", type=float, default=0.0,
                   help="random workload: lengths uniform in len x [1-r, 1+r]")
    p.add_argument("--max-model-len", type=int, default=None,
                   help="longest sequence (default: the model's own limit)")
    p.add_argument("--gpu-memory-utilization", type=float, default=None,
                   help="fraction of the GPU the engine may use (default: LLM's default)")
    p.add_argument("--max-num-seqs", type=int, default=None,
                   help="most sequences running at once (default: all the prompts)")
    p.add_argument("--max-num-batched-tokens", type=int, default=None,
                   help="token budget of a step (default: the engine's); the "
                        "no-chunked-prefill engine gets at least max_model_len")
    p.add_argument("--long-prefill-token-threshold", type=int, default=0,
                   help="most prompt tokens of one request in a step (0: no cap)")
    p.add_argument("--timeline", action="store_true",
                   help="keep each step's prefill/decode token split in the results")
    p.add_argument("--num-prompts", type=int, default=8, help="requests in the workload")
    p.add_argument("--input-len", type=int, default=128, help="prompt tokens per request")
    p.add_argument("--output-len", type=int, default=128, help="output tokens per request")
    p.add_argument("--bench-seed", type=int, default=0, help="seed of the random prompts")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per engine (best is kept)")
    p.add_argument("--output-json", default=None,
                   help="also write the results to this file (default: none)")
    _add_model_args(p)
    _add_engine_args(p)

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
