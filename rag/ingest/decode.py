"""Bytes to text: UTF-8 (with or without BOM), GB18030/GBK, Big5; binary, empty and truncated files rejected."""

from __future__ import annotations

import codecs

from rag.ingest.errors import SkipFile
from rag.text.lang import han_count

# Characters that are frequent in Chinese news text, in both scripts. A wrong legacy decoding
# (Big5 bytes read as GBK or the reverse) yields rare characters, so the share of these tells
# the two apart on short texts where statistical detectors guess.
_COMMON = set(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
    "十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
    "們這個來說時會為對國於後與過還當發經學實現點動體關開頭種問題應長門間聽東車見黨區灣報導議網際權軍衛戰爭臺灣"
)
_NOT_CONTROL = bytes([9, 10, 12, 13, 27, *range(32, 256)])  # deleted: what is left are control bytes
_PROBE = 4000  # characters scored per candidate decoding


def _is_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = len(head.translate(None, _NOT_CONTROL))
    return controls > max(8, len(head) // 100)


def _score(text: str) -> float:
    sample = text[:_PROBE]
    han = han_count(sample)
    if not han:
        return 0.0
    return sum(1 for ch in sample if ch in _COMMON) / han


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a news file's bytes.

    Returns:
        (text, encoding name). Newlines are normalised to "\\n".
    Raises:
        SkipFile: empty, binary, truncated mid-character, or in no known Chinese encoding.
    """
    if not data.strip():
        raise SkipFile("empty file (no bytes or only whitespace)")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        text, encoding = data.decode("utf-16"), "utf-16"
    elif _is_binary(data):
        raise SkipFile("binary file (NUL or control bytes); not a text article")
    else:
        text, encoding = _decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SkipFile("empty file (no text after decoding)")
    return text, encoding


def _decode_text(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        data, bom = data[3:], True
    else:
        bom = False
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        # An error only within the last 3 bytes is a file cut off inside a character.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            raise SkipFile(
                f"truncated file: ends in the middle of a UTF-8 character at byte {exc.start}; re-copy the file"
            ) from None
        bad_share = _utf8_error_share(data)
        if bom or bad_share < 0.001:
            # Mostly UTF-8 with a few broken bytes: keep the text, mark the bad bytes.
            return data.decode("utf-8", errors="replace"), "utf-8 (with replacements)"
    candidates: list[tuple[float, str, str]] = []
    for enc in ("gb18030", "big5hkscs"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_score(text), enc, text))
    if candidates:
        score, enc, text = max(candidates, key=lambda c: c[0])
        if score > 0.05 or len(candidates) == 1:
            return text, enc
    from charset_normalizer import from_bytes  # lazy: only for rare, odd files

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    raise SkipFile("undecodable: not UTF-8, GB18030 or Big5; convert the file to UTF-8")


def _utf8_error_share(data: bytes) -> float:
    text = data.decode("utf-8", errors="replace")
    return text.count("\ufffd") / max(1, len(text))
