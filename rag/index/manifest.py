"""The manifest of one index generation, typed: what was built, from what, with which models.

On disk it is `manifest.json` (schema version 1, unchanged); in code it is a frozen `Manifest`
read with `Manifest.from_json` (a missing or mistyped field is an IndexCorruptError saying how to
rebuild) and written with `to_json`. Only rag.index.store reads and writes the file.

Example:
    >>> m = Manifest.from_json({"schema_version": 1, "corpus": {"root": "/c", "fingerprint": "f"},
    ...     "counts": {"files": 2, "articles": 2, "canonical_articles": 2, "republications": 0,
    ...     "chunks": 5, "skipped": 0}})
    >>> m.counts.chunks, m.embedder is None, m.lexical_only
    (5, True, True)
    >>> Manifest.from_json(m.to_json()) == m
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from rag.errors import IndexCorruptError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Counts:
    files: int = 0
    articles: int = 0
    canonical_articles: int = 0
    republications: int = 0
    chunks: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class EmbedderInfo:
    """The embedder the vectors came from; queries must be encoded by the same one."""

    model_id: str
    dim: int
    spec: str = ""
    revision: str = ""
    query_prompt: str = ""
    passage_prompt: str = ""
    max_seq_length: int | None = None

    @property
    def load_spec(self) -> str:
        return self.spec or self.model_id


@dataclass(frozen=True)
class DenseInfo:
    """Where the vectors live. A faiss index writes only kind + rows (the schema-1 keys)."""

    kind: str  # the ANN index: "flat" or "hnsw"
    rows: int
    store: str = "faiss"  # rag.index.vectorstore.store_class name
    uri: str = ""  # milvus: a .db path (relative to the index directory when inside it) or http(s)://HOST:PORT
    collection: str = ""  # milvus: this generation's collection
    alias: str = ""  # milvus: the alias pointed at the live generation's collection

    def to_json(self) -> dict[str, Any]:
        if self.store == "faiss":
            return {"kind": self.kind, "rows": self.rows}
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DenseInfo":
        return cls(kind=str(data["kind"]), rows=int(data["rows"]), store=str(data.get("store", "faiss")), uri=str(data.get("uri", "")),
                   collection=str(data.get("collection", "")), alias=str(data.get("alias", "")))


@dataclass(frozen=True)
class FileEntry:
    bytes: int
    sha256: str | None  # None above the checksum size limit: checked by size only


@dataclass(frozen=True)
class Manifest:
    corpus_root: str
    corpus_fingerprint: str
    counts: Counts
    embedder: EmbedderInfo | None = None
    dense: DenseInfo | None = None
    chunker: Mapping[str, Any] = field(default_factory=dict)
    tokenizer: Mapping[str, Any] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()  # (source_path, reason)
    built_at: str = ""
    build_seconds: float = 0.0
    schema_version: int = SCHEMA_VERSION
    newsrag_version: str = ""
    files: Mapping[str, FileEntry] = field(default_factory=dict)

    @property
    def lexical_only(self) -> bool:
        return self.embedder is None

    def with_files(self, files: Mapping[str, FileEntry], newsrag_version: str) -> "Manifest":
        from dataclasses import replace

        return replace(self, files=dict(files), newsrag_version=newsrag_version, schema_version=SCHEMA_VERSION)

    def to_json(self) -> dict[str, Any]:
        """The manifest.json object (the same keys as every schema-1 index)."""
        return {
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "corpus": {"root": self.corpus_root, "fingerprint": self.corpus_fingerprint},
            "embedder": asdict(self.embedder) if self.embedder else None,
            "dense": self.dense.to_json() if self.dense else None,
            "chunker": dict(self.chunker),
            "tokenizer": dict(self.tokenizer),
            "counts": asdict(self.counts),
            "skipped": [{"source_path": p, "reason": r} for p, r in self.skipped],
            "schema_version": self.schema_version,
            "newsrag_version": self.newsrag_version,
            "files": {k: asdict(v) for k, v in self.files.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "the index") -> "Manifest":
        """Parse manifest.json; IndexCorruptError (with the fix) when a field is missing or mistyped."""
        try:
            corpus = data.get("corpus") or {}
            emb = data.get("embedder")
            dense = data.get("dense")
            return cls(
                corpus_root=str(corpus.get("root", "")),
                corpus_fingerprint=str(corpus.get("fingerprint", "")),
                counts=Counts(**{k: int(v) for k, v in (data.get("counts") or {}).items() if k in Counts.__dataclass_fields__}),
                embedder=EmbedderInfo(**{k: v for k, v in emb.items() if k in EmbedderInfo.__dataclass_fields__}) if emb else None,
                dense=DenseInfo.from_json(dense) if dense else None,
                chunker=dict(data.get("chunker") or {}),
                tokenizer=dict(data.get("tokenizer") or {}),
                skipped=tuple((s["source_path"], s["reason"]) for s in data.get("skipped") or ()),
                built_at=str(data.get("built_at", "")),
                build_seconds=float(data.get("build_seconds", 0.0)),
                schema_version=int(data.get("schema_version", 0)),
                newsrag_version=str(data.get("newsrag_version", "")),
                files={k: FileEntry(bytes=int(v["bytes"]), sha256=v.get("sha256")) for k, v in (data.get("files") or {}).items()},
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(
                f"the manifest of {where} is malformed ({type(exc).__name__}: {exc}); rebuild it with: newsrag index CORPUS_DIR --rebuild"
            ) from exc
