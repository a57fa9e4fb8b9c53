"""Answering: the offline extractive answerer, refusal, outlet comparison, follow-ups, citations.

Entry points used by rag.service.Newsrag:

- `answer_extractive(question, hits, history=()) -> Answer`
- `rewrite_query(question, history=()) -> str` (complete an elliptical follow-up for retrieval)

Citation helpers shared with the LLM answerer and citation lookup:

- `make_citation(n, article, start, end) -> Citation`
- `verify_citation(citation, article) -> bool`
- `renumber(text, citations) -> (text, citations)`
- `markers(text) -> list[int]`
"""

from rag.answer.citations import make_citation, markers, renumber, verify_citation
from rag.answer.extractive import ExtractiveConfig, answer_extractive, best_support
from rag.answer.followup import rewrite_query
from rag.answer.question import QuestionInfo, analyze_question
from rag.answer.refusal import REFUSAL_TEXT, RefusalPolicy, refusal_answer

__all__ = [
    "ExtractiveConfig",
    "QuestionInfo",
    "REFUSAL_TEXT",
    "RefusalPolicy",
    "analyze_question",
    "answer_extractive",
    "best_support",
    "make_citation",
    "markers",
    "refusal_answer",
    "renumber",
    "rewrite_query",
    "verify_citation",
]
