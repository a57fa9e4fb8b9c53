"""The package holds no vocabulary of the bundled demo corpus: rules must work for any archive."""

from __future__ import annotations

import re
from pathlib import Path

RAG = Path(__file__).resolve().parents[1] / "rag"
DEMO_WORDS = re.compile(r"集安|哈萨克|哈薩克|托卡耶夫|纳扎尔巴耶夫|納扎爾巴耶夫|阿拉木图|[Kk]azakh|Tokayev")


def test_no_demo_corpus_words_in_code():
    found = [f"{p.relative_to(RAG.parent)}:{i}" for p in sorted(RAG.rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if DEMO_WORDS.search(line)]
    assert not found, "words of the demo corpus in code (move them to data or a corpus folder): " + ", ".join(found)
