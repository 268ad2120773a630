"""Text normalisation for crisis detection: one normaliser, no Rasa, spaCy or model imports.

Used by the crisis detector inside Rasa (``bot.rasa_ext.nlu.crisis_text``, re-exported there) and by the
quick check at the edge (``bot.clinic.edge_help``), which must keep working when Rasa is down and may
import nothing heavy. Standard library only.

``normalise`` undoes the ways people hide or bend crisis words before the patterns and the
sentence encoder see them: case, repeated letters ("diiiie"), leetspeak and censoring
("su1c1de", "k*ll", "s.u.i.c.i.d.e"), letters spaced out ("k m s"), common misspellings and
algospeak ("unalive", "sewer slide"). It only rewrites what it recognises; everything else is
returned as it was, lower-cased. ``fold_accents`` removes accents (the edge's keyword check
matches other languages without them).
"""

from __future__ import annotations

import re
import unicodedata

# Words a censored or stretched token is compared with ("k*ll" -> "kill", "diiie" -> "die").
LEXICON = ["suicide", "suicidal", "kill", "killing", "killed", "myself", "yourself", "himself", "herself", "die", "dying", "dead", "death", "cut", "cutting", "overdose", "overdosed", "pills", "pill", "hang", "hanging", "noose", "rape", "raped", "abuse", "abused", "self", "harm", "hurt", "hurting", "blood", "bleeding", "end", "ending", "life", "alive", "want", "wanna", "gonna", "please", "help", "now", "tonight", "anymore", "tired", "done", "jump", "bridge", "knife", "blade", "razor", "hit", "hits", "beat", "beats", "starve", "starving", "purge", "purging", "voices", "gun", "shoot", "murder", "poison", "poisoned", "bleach", "wrist", "wrists"]
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l", "€": "e", "+": "t"})
# Phrases first (longest first), then single tokens. Plain words on the right: the encoder
# and the patterns both know them.
PHRASES = (
    (r"\bsewer[\s-]*slide\b", "suicide"),
    (r"\bself[\s-]*delet(e|ing|ed)\b", "kill myself"),
    (r"\bun[\s-]*aliv(e|ing|ed)\s+(myself|me|my ?self)\b", "kill myself"),
    ((r"\bun[\s-]*aliv(e|ing|ed)(?=\s+(him|her|them|someone|somebody|you|u|my|the|that|this|"
     r"his|our|their|everyone|people)\b)"), "kill"),
    (r"\bun[\s-]*aliv(e|ing|ed)\b", "suicide"),
    (r"\bcatch(ing)? the bus\b", "kill myself"),
    (r"\bs\s*/\s*h\b", "self harm"),
    (r"\bs\s*/\s*i\b", "self injury"),
    (r"\bk\s*/\s*s\b", "kill myself"),
    (r"\bkermit\b", "kill myself"),
    (r"\bo\.\s*d\.?(?=\s|$)", "overdose"),
    (r"\bgrippy sock\b", "psychiatric"),
    (r"\b(the )?(long|big|eternal|endless|forever) (nap|sleep|rest)\b", "death"),
    (r"\bsh'?d\b", "self harmed"),
    (r"\bsh'?ing\b", "self harming"),
)
# Emoji people use for the things they cannot bring themselves to write.
EMOJI = {"💊": " pills ", "🔪": " knife ", "🩸": " blood ", "🪢": " rope ", "🔫": " gun ",
         "⚰️": " coffin ", "⚰": " coffin ", "🪦": " grave ", "☠️": " death ", "☠": " death "}
WORDS = {
    "kms": "kill myself", "kys": "kill yourself", "ctb": "kill myself", "sui": "suicide",
    "suicde": "suicide", "sucide": "suicide", "suiside": "suicide", "suicid": "suicide",
    "sucidal": "suicidal", "suicdal": "suicidal", "suicidel": "suicidal", "suisidal": "suicidal",
    "sewercide": "suicide", "kil": "kill", "kiling": "killing", "myslef": "myself", "mysef": "myself", "myslf": "myself",
    "meself": "myself", "mysel": "myself", "pils": "pills", "overdoze": "overdose",
    "ovedose": "overdose", "overdos": "overdose", "od'd": "overdosed", "oded": "overdosed",
    "selfharm": "self harm", "self-harm": "self harm", "wnt": "want", "wna": "wanna",
    "dieee": "die", "ded": "dead", "rn": "right now", "tn": "tonight", "2nite": "tonight",
    "tonite": "tonight", "2day": "today", "u": "you", "ur": "your", "bc": "because",
}
_TOKEN = re.compile(r"\S+")
# "sucide", "suicidial", "sooicide", "suiscide": the letters of the word, a little out of place
_SUICIDE_TYPO = re.compile(r"s[uoi]{1,3}[cs]{1,2}[iy]{0,2}[dt]{1,2}(e|es|al|ial|le|el)")
_EDGE = re.compile(r"^([^\w*@$!|]*)(.*?)([^\w*@$!|]*)$", re.UNICODE)
_SQUEEZE = re.compile(r"(.)\1+")


def _squeeze(word: str) -> str:
    return _SQUEEZE.sub(r"\1", word)


_SQUEEZED = {_squeeze(w): w for w in LEXICON}


def _censored(word: str) -> str | None:
    """A lexicon word that a token with * or _ for letters stands for ("k*ll", "s**cide")."""
    pattern = re.compile("^" + re.sub(r"[*_]+", ".{1,3}", re.escape(word).replace(r"\*", "*")) + "$")
    hits = [w for w in LEXICON if pattern.match(w)]
    return hits[0] if len(hits) == 1 or (hits and len(set(hits)) == 1) else None


def _fix_token(token: str) -> str:
    lead, core, tail = _EDGE.match(token).groups()
    if not core:
        return token
    word = core
    if re.search(r"[a-z]", word) and re.search(r"[0-9@$!|€+]", word) and not re.fullmatch(
            r"\d+(st|nd|rd|th|am|pm|s|yo|mg|ml|h|x|k|kg|lbs?)", word):
        word = word.translate(_LEET)
    if "*" in word or ("_" in word and re.search(r"[a-z]_+[a-z]", word)):
        word = _censored(word) or word.replace("*", "")
    if re.search(r"(.)\1\1", word):
        word = _SQUEEZED.get(_squeeze(word), re.sub(r"(.)\1{2,}", r"\1\1", word))
    word = WORDS.get(word, word)
    if word not in ("suicide", "suicidal") and _SUICIDE_TYPO.fullmatch(word):
        word = "suicidal" if word.endswith(("al", "el", "le")) else "suicide"
    return lead + word + tail


def _join_spaced(text: str) -> str:
    """Rejoin words written a letter at a time: "k m s", "s u i c i d e", "s.u.i.c.i.d.e",
    "k.m.s"."""
    text = re.sub(r"\b(?:[a-z][.\-_]){2,}[a-z]\b", lambda m: re.sub(r"[.\-_]", "", m.group()), text)
    return re.sub(r"\b(?:[a-z] ){2,}[a-z]\b", lambda m: m.group().replace(" ", ""), text)


def normalise(text: str) -> str:
    """Lower-cased text with hidden, stretched and slang crisis words made plain."""
    text = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    for emoji, word in EMOJI.items():
        if emoji in text:
            text = text.replace(emoji, word)
    text = _join_spaced(text)
    text = " ".join(_fix_token(t) for t in _TOKEN.findall(text))
    for pattern, plain in PHRASES:
        text = re.sub(pattern, plain, text)
    return text


def fold_accents(text: str) -> str:
    """``text`` without accents and other combining marks ("suicídio" -> "suicidio")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
