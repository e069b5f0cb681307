"""Session fixtures and marker rules shared by every milestone's tests."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from folovllm.engine.llm_engine import LLMEngine
from tests.kv_checks import check_block_accounting
from tests.tiny_models import TINY_CONFIGS, build_tiny_model

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its milestone folder's marker and skip GPU tests without CUDA."""
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        parts = Path(item.fspath).relative_to(REPO / "tests").parts
        if parts and parts[0] in {f"m{i}" for i in range(8)}:
            item.add_marker(getattr(pytest.mark, parts[0]))
        if parts and parts[0] == "docs":
            item.add_marker(pytest.mark.docs)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


# Engines built since the last check, held strongly: a test's own engine is usually gone by its
# teardown, and a weak reference alone would let it escape the check. Long-lived (session)
# engines stay in the weak set and are checked after every test.
_NEW_ENGINES: list[LLMEngine] = []
_LIVE_ENGINES: weakref.WeakSet[LLMEngine] = weakref.WeakSet()


@pytest.fixture(scope="session", autouse=True)
def _track_engines() -> Iterator[None]:
    """Remember every engine any test builds, for the leak check below."""
    original = LLMEngine.__init__

    def init(self: LLMEngine, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        _NEW_ENGINES.append(self)
        _LIVE_ENGINES.add(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LLMEngine, "__init__", init)
        yield


@pytest.fixture(autouse=True)
def _no_leaked_kv_blocks() -> Iterator[None]:
    """After every test, every engine it built and every engine still alive has its KV blocks
    accounted for (none leaked)."""
    yield
    engines = {id(e): e for e in [*_NEW_ENGINES, *_LIVE_ENGINES]}
    _NEW_ENGINES.clear()
    for engine in engines.values():
        check_block_accounting(engine)


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> directory of each tiny model (llama, qwen2, qwen3)."""
    root = tmp_path_factory.mktemp("tiny_models")
    return {name: build_tiny_model(name, root / name) for name in TINY_CONFIGS}


@pytest.fixture(scope="session", params=sorted(TINY_CONFIGS))
def tiny_model_dir(request: pytest.FixtureRequest, tiny_model_dirs: dict[str, Path]) -> Path:
    """Parametrises a test over every tiny model."""
    return tiny_model_dirs[request.param]


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The converted embedded default model (converted into the cache on first use)."""
    from folovllm.default_model import ensure_default_model

    return ensure_default_model()
