"""Training questions in the style users ask them, for scripts/train_scorer.py (scorer v2).

The v1 scorer was trained on CMRC-2018 and CRUD-RAG questions as written: short and direct. Users
ask long, conversational questions that first describe where they read something ("那篇讲…的文章里
说…") and then ask; the describing part matches a *neighbouring* sentence better than the one that
answers. And the questions a scorer must refuse are about the same people and events as the
archive, with a figure or a name nearby that is not the asked one. Three sources of such rows,
all from ../shared, none of them evaluation data:

1. `conversational(...)`: a CMRC-trial / CRUD-even question rewritten with a spoken opener, a
   fragment of the neighbouring sentence (or the title) as the "where I read it" part, and a spoken
   ending. The neighbour it quotes becomes a hard negative.
2. `news_questions(...)`: template questions from the 7,722-article news sample
   (../shared/corpus/news-sample; it shares no article with any evaluation corpus): a sentence's
   figure, date, person or place is replaced by 多少 / 哪天 / 谁 / 哪里, words are dropped, and a
   neighbour fragment is prepended. Negatives are the article's other sentences, same answer type
   first, and sentences of the most similar *other* article (the plausible unanswerable).
3. `other_article_negatives(...)`: for CRUD questions, sentences of the most similar article that
   does not hold the answer: all negative, so the scorer learns that "about the same event" is not
   "answers the question".
4. `erased(...)` (scorer v3): the answer sentence itself with the answer span deleted or replaced by
   a vague filler ("有关方面", "一些"): a negative that matches the question as well as the positive
   does, so the only thing to learn from the pair is whether the asked span is there. This is the
   plausible unanswerable of the blind sets ("在一个滑雪胜地度假" for "哪个滑雪场"). Added to a
   group with probability `ERASE_SHARE` (set by scripts/train_scorer.py --erase).

Every row is (question, candidate text, label) with the candidate built by rag.answer.scorer.pair_text,
exactly as the answerer builds it at run time.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.answer.scorer import pair_text
from rag.chunk import split_sentences

MAX_SENTENCE = 200
Row = tuple[str, str, float]
ERASE_SHARE = 0.0  # probability that a group also gets its answer-erased twin as a negative (train_scorer --erase)
FILLERS = ("", "", "", "有关方面", "一些", "相关", "其")

OPENERS = ("", "", "想问一下，", "之前看到一篇报道，", "我记得有新闻说", "请问，", "有篇文章里提到", "看到个说法，",
           "帮我查一下：", "刚才读到", "前几天看新闻，")
ENDINGS = ("", "", "", "来着", "，你知道吗", "，文章里怎么说的", "，有具体说法吗")
WHERE_FORMS = ("那篇讲{t}的文章里，", "在讲{t}的那篇报道中，", "关于{t}，", "{t}那条新闻里，")

FIGURE = re.compile(r"(?<![\d.,])\d[\d,.]*(?:\s*[万亿千百])?(?=\s*(?:多)?(?:人|名|个|家|吨|美元|元|岁|次|架|辆|公里|平方公里|%|％|桶|座|所|件|起|枚|户|天|年))")
DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}[日号]")


def sentences(text: str) -> list[tuple[int, int]]:
    return [(s, e) for s, e in split_sentences(text) if e - s >= 6]


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def overlap(q: str, s: str) -> float:
    g = bigrams(q)
    return len(g & bigrams(s)) / max(1, len(g))


def fragment(text: str, rng: random.Random, lo: int = 8, hi: int = 22) -> str:
    """A piece of a clause of `text` (what a reader half-remembers), cut at punctuation where it can be."""
    clauses = [c for c in re.split(r"[，,；;：:。！？!?、“”\"（）()]", text) if len(c) >= lo]
    if not clauses:
        return ""
    c = rng.choice(clauses)
    if len(c) > hi:
        at = rng.randrange(0, len(c) - hi + 1)
        c = c[at : at + hi]
    return c.strip()


def spoken(question: str, where: str, rng: random.Random) -> str:
    """`question` with a spoken opener, the "where I read it" part and a spoken ending."""
    q = question.strip().rstrip("？?。.")
    ending = rng.choice(ENDINGS)
    return f"{rng.choice(OPENERS)}{where}{q}{ending}？"


def candidate(question: str, text: str, spans: Sequence[tuple[int, int]], k: int, title: str, keep: str = "") -> tuple[str, str]:
    """pair_text for sentence k of `text` with its neighbours, a long sentence windowed around `keep`."""
    s, e = spans[k]
    sent = text[s:e]
    if len(sent) > MAX_SENTENCE:
        at = sent.find(keep) if keep else 0
        lo = max(0, min(at - MAX_SENTENCE // 2, len(sent) - MAX_SENTENCE))
        sent = sent[lo : lo + MAX_SENTENCE]
    before = text[spans[k - 1][0] : spans[k - 1][1]] if k > 0 else ""
    after = text[spans[k + 1][0] : spans[k + 1][1]] if k + 1 < len(spans) else ""
    return pair_text(question, sent, title, before[-80:], after[:80])


def erased(question: str, text: str, title: str, pos: int, answer: str, rng: random.Random) -> Row | None:
    """Sentence `pos` of `text` with `answer` deleted or replaced by a vague filler, as a negative row
    (None when the answer is not in it, is most of it, or the edit changes the sentence split).

    Example:
        >>> import random
        >>> q, cand, label = erased("谁宣布了辞职？", "周一的会议开到深夜。总理张三在会后宣布辞职。", "", 1, "张三", random.Random(0))
        >>> "张三" in cand, label
        (False, 0.0)
    """
    spans = sentences(text)
    s, e = spans[pos]
    sent = text[s:e]
    at = sent.find(answer)
    if at < 0 or not answer or len(answer) > 0.6 * len(sent):
        return None
    new_text = text[:s] + sent[:at] + rng.choice(FILLERS) + sent[at + len(answer) :] + text[e:]
    if len(sentences(new_text)) != len(spans):
        return None
    return (*candidate(question, new_text, sentences(new_text), pos, title), 0.0)


def group(question: str, text: str, title: str, pos: int, answer: str, rng: random.Random, n_hard: int,
          prefer: Callable[[str], bool] | None = None, extra_negative: int | None = None) -> list[Row]:
    """Rows for one question over one text: the positive sentence `pos`, then negatives: `extra_negative`
    (a sentence the question quotes from), the `n_hard` most overlapping others (those `prefer`
    accepts first), one random one."""
    spans = sentences(text)
    rows = [(*candidate(question, text, spans, pos, title, answer), 1.0)]
    others = [k for k in range(len(spans)) if k != pos and answer not in text[spans[k][0] : spans[k][1]]]
    if extra_negative is not None and extra_negative in others:
        rows.append((*candidate(question, text, spans, extra_negative, title), 0.0))
        others.remove(extra_negative)

    def key(k: int) -> tuple[int, float]:
        sent = text[spans[k][0] : spans[k][1]]
        return (0 if prefer and prefer(sent) else 1, -overlap(question, sent))

    others.sort(key=key)
    hard, rest = others[:n_hard], others[n_hard:]
    if rest:
        hard.append(rng.choice(rest))
    rows += [(*candidate(question, text, spans, k, title), 0.0) for k in hard]
    if ERASE_SHARE and rng.random() < ERASE_SHARE and (twin := erased(question, text, title, pos, answer, rng)):
        rows.append(twin)
    return rows


def answer_sentence(text: str, answer: str, answer_start: int | None) -> int | None:
    for k, (s, e) in enumerate(sentences(text)):
        if answer_start is not None and s <= answer_start < e and answer_start + len(answer) <= e:
            return k
        if answer_start is None and answer in text[s:e]:
            return k
    return None


def conversational(question: str, title: str, text: str, answer: str, answer_start: int | None,
                   rng: random.Random, n_hard: int) -> list[Row]:
    """A spoken rewrite of a dataset question, quoting a neighbour of the answer sentence (or the title)."""
    spans = sentences(text)
    pos = answer_sentence(text, answer, answer_start)
    if pos is None:
        return []
    near = [k for k in (pos - 1, pos + 1) if 0 <= k < len(spans) and answer not in text[spans[k][0] : spans[k][1]]]
    quoted = rng.choice(near) if near and rng.random() < 0.7 else None
    piece = fragment(text[spans[quoted][0] : spans[quoted][1]], rng) if quoted is not None else ""
    if piece:
        where = rng.choice(("说", "提到", "讲")) + piece + "，" if rng.random() < 0.5 else piece + "，"
    elif title and rng.random() < 0.6:
        where = rng.choice(WHERE_FORMS).format(t=title[:20])
    else:
        where = ""
    return group(spoken(question, where, rng), text, title, pos, answer, rng, n_hard, extra_negative=quoted)


# --- template questions from the news sample -------------------------------------------------

def _person_or_place(sentence: str) -> tuple[str, str] | None:
    """(name, kind) of the first person (nr) or place (ns) name of two or more characters jieba tags."""
    from rag.text.tokens import pos_tag

    for word, flag, _ in pos_tag(sentence):
        if len(word) >= 2 and flag in ("nr", "ns"):
            return word, ("who" if flag == "nr" else "where")
    return None


def slot_question(sentence: str, rng: random.Random) -> tuple[str, str, str] | None:
    """(question, answer string, kind) made from `sentence`: one span replaced by its question word,
    then the clause around it kept and some of its other words dropped."""
    from rag.text.tokens import tokenize

    kinds = []
    if m := FIGURE.search(sentence):
        kinds.append((m.start(), m.end(), "number", "多少"))
    if m := DATE.search(sentence):
        kinds.append((m.start(), m.end(), "date", rng.choice(("哪天", "几月几号", "什么时候"))))
    if named := _person_or_place(sentence):
        at = sentence.find(named[0])
        kinds.append((at, at + len(named[0]), named[1], "谁" if named[1] == "who" else "哪里"))
    if not kinds:
        return None
    s, e, kind, word = rng.choice(kinds)
    answer = sentence[s:e]
    # the clause around the slot, plus sometimes the clause before it
    lo = max(sentence.rfind(p, 0, s) for p in "，,；;：:") + 1
    if rng.random() < 0.4:
        lo = max(sentence.rfind(p, 0, max(0, lo - 1)) for p in "，,；;：:") + 1
    hi_cands = [i for i in (sentence.find(p, e) for p in "，,；;。！？") if i >= 0]
    hi = min(hi_cands) if hi_cands else len(sentence)
    left, right = sentence[lo:s], sentence[e:hi]
    drop = 0.25

    def thin(part: str) -> str:
        return "".join(w for w in tokenize(part) if len(w) > 1 or rng.random() > drop) if part else ""

    q = (thin(left) + word + thin(right)).strip("，,。 ")
    if len(q) < 6 or answer in q:
        return None
    return q, answer, kind


def news_questions(articles: Sequence[tuple[str, str]], rng: random.Random, n_hard: int, per_article: int = 1) -> list[list[Row]]:
    """Groups of rows from (title, text) pairs: template questions with a spoken wrapper, plus, for each,
    the most similar other article's best-overlapping sentences as negatives."""
    title_grams = [bigrams(t) for t, _ in articles]
    groups: list[list[Row]] = []
    for i, (title, text) in enumerate(articles):
        spans = sentences(text)
        if len(spans) < 4:
            continue
        order = list(range(len(spans)))
        rng.shuffle(order)
        made = 0
        for k in order:
            if made >= per_article:
                break
            sent = text[spans[k][0] : spans[k][1]]
            if len(sent) > MAX_SENTENCE or len(sent) < 15:
                continue
            slot = slot_question(sent, rng)
            if slot is None:
                continue
            q, answer, kind = slot
            near = [j for j in (k - 1, k + 1) if 0 <= j < len(spans)]
            quoted = rng.choice(near) if near and rng.random() < 0.5 else None
            piece = fragment(text[spans[quoted][0] : spans[quoted][1]], rng) if quoted is not None else ""
            if piece:
                where = piece + "，"
            elif title and rng.random() < 0.5:
                where = rng.choice(WHERE_FORMS).format(t=title[:20])
            else:
                where = ""
            question = spoken(q, where, rng)
            prefer = (lambda s: bool(FIGURE.search(s))) if kind == "number" else (lambda s: bool(DATE.search(s))) if kind == "date" else None
            rows = group(question, text, title, k, answer, rng, n_hard, prefer=prefer, extra_negative=quoted)
            rows += other_article_negatives(question, answer, i, articles, title_grams, rng)
            groups.append(rows)
            made += 1
    return groups


def other_article_negatives(question: str, answer: str, own: int, articles: Sequence[tuple[str, str]],
                            title_grams: Sequence[set[str]], rng: random.Random, pool: int = 300, take: int = 2) -> list[Row]:
    """The `take` sentences most like `question` in the most similar other article (by title bigrams
    among `pool` random ones) that does not contain `answer`: all negatives."""
    picks = rng.sample(range(len(articles)), min(pool, len(articles)))
    g = title_grams[own] | bigrams(question)
    best = max((j for j in picks if j != own and answer not in articles[j][1]), key=lambda j: len(g & title_grams[j]), default=None)
    if best is None:
        return []
    title, text = articles[best]
    spans = sentences(text)
    ranked = sorted(range(len(spans)), key=lambda k: -overlap(question, text[spans[k][0] : spans[k][1]]))[:take]
    return [(*candidate(question, text, spans, k, title), 0.0) for k in ranked]


def read_news(root: Path, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, text) of `n` random readable articles of the news sample, parsed as newsrag parses them."""
    from rag.ingest import list_corpus_files, read_or_skip
    from rag.types import Article

    paths = list_corpus_files(root)
    rng.shuffle(paths)
    out = []
    for p in paths:
        if len(out) >= n:
            break
        a = read_or_skip(root, p)
        if isinstance(a, Article) and 300 <= len(a.text) <= 20000:
            out.append((a.title, a.text))
    return out
