"""FoloVLLM: a small, readable, fast vLLM-style inference engine."""

from folovllm.entrypoints.llm import LLM
from folovllm.outputs import RequestOutput
from folovllm.sampling_params import SamplingParams

__version__ = "0.1.0"

__all__ = ["LLM", "RequestOutput", "SamplingParams"]
