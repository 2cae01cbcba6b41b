"""bench/research/norm.py -- categorize.normalize() reimplemented for ASCII text.

A faithful Python copy of src/core/normalize.c for ASCII input (every data
set here is ASCII), checked string for string against the installed
extension by `python3 prep.py --check`.  It also implements the proposed
change: a processor-prefix *whitelist* (normalize(..., prefix_rule='whitelist'))
instead of "any run of at most 8 letters/digits before '*'".
"""
import re

NETWORK_WORDS = frozenset("""ach card checkcard chkcard contactless credit dbt debit eftpos maestro
mastercard paypass paywave pos purchase recurring visa""".split())

# Proposed whitelist: payment processors whose code before '*' names the
# processor, not the merchant (Square, Toast, PayPal, Shopify, Intuit,
# Eventbrite, Stripe, Clover, Zettle, SumUp, Paddle, FastSpring).  Everything
# else before a '*' is a brand and stays: "UBER *TRIP" -> "uber trip",
# "AIRBNB *HMX" -> "airbnb hmx", "ATT*BILL" -> "att bill".
PROCESSOR_PREFIXES = frozenset("""sq tst pp paypal sp in eb stripe clv clover izettle zettle sumup
paddle fs""".split())

_ALNUM = re.compile(r"[A-Za-z0-9]")


def _is_alnum(c):
    return ("0" <= c <= "9") or ("a" <= c.lower() <= "z")


def split_words(s):
    """Steps 1, 2, 4 for ASCII: list of words ('#12' words keep their '#')."""
    words = []
    cur = []
    in_word = False
    after_apos = False
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if _is_alnum(c):
            if not in_word:
                if cur:
                    words.append("".join(cur))
                cur = []
                in_word = True
            after_apos = False
            cur.append(c.lower())
            i += 1
        elif c == "#" and _is_number_mark(s, i):
            # end word, start '#digits' word, end it
            if cur:
                words.append("".join(cur))
            cur = ["#"]
            i += 1
            while i < n and _is_alnum(s[i]):
                cur.append(s[i].lower())
                i += 1
            words.append("".join(cur))
            cur = []
            in_word = False
            after_apos = False
        elif c == "'":
            if in_word and not after_apos:
                after_apos = True
            else:
                in_word = False
                after_apos = False
            i += 1
        else:
            in_word = False
            after_apos = False
            i += 1
    if cur:
        words.append("".join(cur))
    return words


def _is_number_mark(s, i):
    j = i + 1
    n = len(s)
    if j >= n or not s[j].isdigit():
        return False
    while j < n and s[j].isdigit():
        j += 1
    return j == n or (not _is_alnum(s[j]) and s[j] != "'")


_PREFIX = re.compile(r"^[ \t]*([A-Za-z0-9]{1,8})[ \t]*\*(?!\*)")


def processor_prefix(s):
    """The processor-prefix word (lower case) if the raw text starts with one."""
    m = _PREFIX.match(s)
    return m.group(1).lower() if m else None


def _is_noise(w):
    if w.startswith("#"):
        return True
    digits = sum(c.isdigit() for c in w)
    if digits == 0:
        return False
    if digits == len(w) and len(w) >= 3:
        return True
    if len(w) >= 6 and digits >= 3:
        return True
    nx = 0
    while nx < len(w) and w[nx] == "x":
        nx += 1
    return nx >= 2 and digits == len(w) - nx


def _remove_noise(words, drop_first):
    out = []
    leading = True
    for idx, w in enumerate(words):
        if drop_first and idx == 0:
            continue
        if leading and w in NETWORK_WORDS:
            continue
        if _is_noise(w):
            continue
        leading = False
        out.append(w)
    return out


def _drop_number_marks(words):
    if any(not w.startswith("#") for w in words):
        return [w for w in words if not w.startswith("#")]
    return [w.replace("#", "") for w in words]


def _strip_wrappers(words):
    """Proposed: bank wrappers a statement line carries around the merchant.
    Leading 'authorized on MM DD' (after the card-network words, as in
    'PURCHASE AUTHORIZED ON 03/01 ...') and a trailing card tail 'card NNNN'
    (or a lone trailing 'card' whose number was cut or dropped)."""
    i = 0
    if len(words) >= 2 and words[0] == "authorized" and words[1] == "on":
        i = 2
        k = 0
        while i < len(words) and k < 2 and words[i].isdigit() and len(words[i]) <= 2:
            i += 1
            k += 1
    out = words[i:]
    while True:     # repeated, so that normalizing the result again changes nothing
        if len(out) >= 3 and out[-2] == "card" and out[-1].isdigit() and len(out[-1]) <= 4:
            out = out[:-2]
        elif len(out) >= 2 and out[-1] == "card":
            out = out[:-1]
        else:
            break
    return out if out else words


def normalize(s, prefix_rule="any", wrappers=False):
    """categorize.normalize(s); prefix_rule 'any' (current), 'whitelist', 'none';
    wrappers: also strip bank wrappers (proposed)."""
    if wrappers:
        r = normalize(s, prefix_rule)
        return " ".join(_strip_wrappers(r.split())) if r else r
    if not s:
        return ""
    p = processor_prefix(s)
    prefix = p is not None
    if prefix and prefix_rule == "whitelist" and p not in PROCESSOR_PREFIXES:
        prefix = False
    elif prefix_rule == "none":
        prefix = False
    words = split_words(s)
    kept = _remove_noise(words, prefix)
    if not kept and prefix:
        kept = _remove_noise(words, False)
    if kept:
        return " ".join(kept)
    words = _drop_number_marks(words)
    kept = _remove_noise(words, False)
    return " ".join(kept if kept else words)
