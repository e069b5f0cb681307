"""Flat keywords become the layered config; a typo is an error."""

from folovllm.config import EngineArgs, ModelConfig


def error_of(fn, *args, **kwargs) -> str:
    """The message of the ValueError that ``fn`` raises."""
    try:
        fn(*args, **kwargs)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{fn.__name__} accepted {args} {kwargs}")


typo = error_of(EngineArgs.from_kwargs, max_model_length=4096)
print(typo.split("?")[0] + "?")  # then the list of known keys

# The known keys: the union of the four groups' fields, each name once.
known = EngineArgs.known_keys()
print(len(known), "known keys, e.g.", sorted(known)[:4])

# Cheap groups first: the bad block size is reported, not the missing model.
args = EngineArgs.from_kwargs(model="/no/such/model", block_size=0)
bad_block = error_of(args.create_engine_config)
print(bad_block)
# Inside ModelConfig too, the dtype is checked before the directory.
bad_dtype = error_of(ModelConfig, model="/no/such/model", dtype="fp8")
print(bad_dtype.split(":")[0])
