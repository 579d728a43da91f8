"""A translation task that needs no download: Arabic numerals ↔ Chinese numerals (305 ↔ 三百零五)."""
import numpy as np

_DIGITS = "零一二三四五六七八九"
_UNITS = ["", "十", "百", "千"]


def _section(n):
    """Chinese for 0 < n < 10000, zeros between digits read once (1005 → 一千零五)."""
    out, zero = [], False
    for power in (3, 2, 1, 0):
        d = n // 10 ** power % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + _UNITS[power])
    return "".join(out)


def to_chinese_numeral(n):
    """Chinese numeral of ``0 <= n < 10**8`` as written in everyday use: 10 → 十, 15 → 十五, 110 → 一百一十,
    10500 → 一万零五百, 100000 → 十万.

    >>> to_chinese_numeral(305), to_chinese_numeral(20019)
    ('三百零五', '二万零一十九')
    """
    n = int(n)
    if not 0 <= n < 10**8:
        raise ValueError(f"to_chinese_numeral: n must be in [0, 10**8), got {n}")
    if n == 0:
        return "零"
    high, low = divmod(n, 10000)
    text = ""
    if high:
        text = _section(high) + "万"
        if low and low < 1000:
            text += "零"
    if low:
        text += _section(low)
    if text.startswith("一十"):
        text = text[1:]
    return text


def chinese_numerals(n=10000, low=0, high=100000, seed=0):
    """``(arabic, chinese)``: two lists of ``n`` strings for random integers in ``[low, high)``."""
    values = np.random.default_rng(seed).integers(low, high, size=n)
    return [str(v) for v in values], [to_chinese_numeral(v) for v in values]
