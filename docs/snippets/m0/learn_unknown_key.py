"""A misspelled engine argument fails, naming the closest known one."""

from folovllm.config import EngineArgs

try:
    EngineArgs.from_kwargs(max_model_length=4096)
except ValueError as err:
    print(str(err).split(" (known:")[0])
