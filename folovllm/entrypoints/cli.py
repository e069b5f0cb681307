"""The ``folovllm`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import folovllm


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="HF model directory (default: the embedded SmolLM2-135M-Instruct)")
    p.add_argument("--dtype", default="auto", help="auto|half|float16|bfloat16|float|float32")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda")
    p.add_argument("--load-format", default="auto", help="auto|dummy (random weights)")


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"folovllm {folovllm.__version__}")
    return 0


def _cmd_model_info(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from folovllm.config import ModelConfig
    from folovllm.model_executor.loader import load_hf_model, summarize_model

    hf_logging.disable_progress_bar()  # keep the weight-loading bar out of the summary
    config = ModelConfig(model=args.model, dtype=args.dtype, device=args.device,
                         load_format=args.load_format)
    print(summarize_model(config, load_hf_model(config)).format())
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
