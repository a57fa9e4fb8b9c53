"""Tolerant YAML front matter: hexo/jekyll blocks that are often not valid YAML.

Real failures this handles: an unquoted ": " inside a title, a title starting with "&" (read as
an anchor) or "#" (read as a comment, giving None), and a blank line before the opening "---".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*):(?:\s+(.*?))?\s*$")
_LIST_ITEM = re.compile(r"^\s+-\s+(.*?)\s*$|^-\s+(.*?)\s*$")
_MAX_LINES = 60  # a front matter block longer than this is not one of ours


@dataclass(frozen=True)
class FrontMatter:
    """Parsed front matter: `data` (keys as in the file) and the body after the closing line."""

    data: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    present: bool = False


def split_front_matter(text: str) -> FrontMatter:
    """Split `---` front matter off `text`; returns present=False (body=text) when there is none.

    Raises:
        ValueError: the block is opened but never closed and nothing follows (a truncated file).
    """
    stripped = text.lstrip("\ufeff")
    lead = len(stripped) - len(stripped.lstrip("\n \t"))
    rest = stripped[lead:]
    if not (rest.startswith("---\n") or rest == "---"):
        return FrontMatter(body=text)
    lines = rest.split("\n")
    end = next((i for i in range(1, min(len(lines), _MAX_LINES)) if lines[i].rstrip() in ("---", "...")), None)
    block = lines[1:end] if end is not None else lines[1:]
    if not block or not any(_KEY_LINE.match(line) for line in block[:3]):
        return FrontMatter(body=text)  # a markdown rule, not front matter
    if end is None:
        if len(lines) <= _MAX_LINES:
            raise ValueError("front matter opened with '---' but never closed")
        return FrontMatter(body=text)
    data = parse_block(block)
    return FrontMatter(data=data, body="\n".join(lines[end + 1 :]), present=True)


def parse_block(lines: list[str]) -> dict[str, Any]:
    """Parse front matter lines: a line parser first, YAML only for lines it does not understand."""
    data: dict[str, Any] = {}
    current: str | None = None
    understood = True
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#") and current is None and not _KEY_LINE.match(line):
            continue
        m = _KEY_LINE.match(line)
        if m:
            current = m.group(1)
            raw = m.group(2)
            data[current] = _scalar(raw) if raw else []
            continue
        item = _LIST_ITEM.match(line)
        if item and current is not None and isinstance(data.get(current), list):
            data[current].append(_scalar(item.group(1) or item.group(2) or ""))
            continue
        understood = False
    for key, value in list(data.items()):
        if value == []:
            data[key] = None if key not in ("categories", "tags") else []
    if not understood:
        data = _merge_yaml(lines, data)
    return data


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        return inner.replace('\\"', '"').replace("\\\\", "\\")
    return raw


def _merge_yaml(lines: list[str], data: dict[str, Any]) -> dict[str, Any]:
    import yaml  # lazy: only for blocks the line parser did not fully understand

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loaded = yaml.load("\n".join(lines), Loader=loader)
    except yaml.YAMLError as exc:
        log.debug("front matter is not valid YAML, kept the line parse: %s", exc)
        return data
    if not isinstance(loaded, dict):
        return data
    merged = {str(k): v for k, v in loaded.items()}
    for key, value in data.items():  # the line parse wins for scalars YAML mangles (&, #, ': ')
        if isinstance(value, str) and not isinstance(merged.get(key), str):
            merged[key] = value
        elif isinstance(value, str) and value[:1] in "&#*!|>%@`":
            merged[key] = value
    return merged
