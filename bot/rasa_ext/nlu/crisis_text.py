"""Text normalisation and other languages for crisis detection. No Rasa imports.

``normalise`` undoes the ways people hide or bend crisis words before the patterns and the
sentence encoder see them: case, repeated letters ("diiiie"), leetspeak and censoring
("su1c1de", "k*ll", "s.u.i.c.i.d.e"), letters spaced out ("k m s"), common misspellings and
algospeak ("unalive", "sewer slide"). It only rewrites what it recognises; everything else is
returned as it was, lower-cased.

``language`` names the language of a message the assistant does not speak (by script, or by
common function words for Latin-script languages), and ``foreign_crisis`` finds crisis words in
the most spoken ones. Keyword lists are a backstop: they miss what they do not list, so a
message in another language always gets at least the multilingual safety line.
"""

from __future__ import annotations

import re
import unicodedata

# Words a censored or stretched token is compared with ("k*ll" -> "kill", "diiie" -> "die").
LEXICON = ["suicide", "suicidal", "kill", "killing", "killed", "myself", "yourself", "himself", "herself", "die", "dying", "dead", "death", "cut", "cutting", "overdose", "overdosed", "pills", "pill", "hang", "hanging", "noose", "rape", "raped", "abuse", "abused", "self", "harm", "hurt", "hurting", "blood", "bleeding", "end", "ending", "life", "alive", "want", "wanna", "gonna", "please", "help", "now", "tonight", "anymore", "tired", "done", "jump", "bridge", "knife", "blade", "razor", "hit", "hits", "beat", "beats", "starve", "starving", "purge", "purging", "voices", "gun", "shoot", "murder", "poison", "poisoned", "bleach", "wrist", "wrists"]
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l", "€": "e"})
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
    if re.search(r"[a-z]", word) and re.search(r"[0-9@$!|€]", word) and not re.fullmatch(
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
    """Rejoin words written a letter at a time: "k m s", "s u i c i d e", "s.u.i.c.i.d.e"."""
    text = re.sub(r"\b(?:[a-z][.\-_]){3,}[a-z]\b", lambda m: re.sub(r"[.\-_]", "", m.group()), text)
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


# --- other languages -----------------------------------------------------------------

SCRIPTS = (  # (language, first code point, last code point)
    ("ar", 0x0600, 0x06FF), ("hi", 0x0900, 0x097F), ("zh", 0x4E00, 0x9FFF),
    ("ru", 0x0400, 0x04FF), ("he", 0x0590, 0x05FF), ("th", 0x0E00, 0x0E7F),
    ("el", 0x0370, 0x03FF), ("ko", 0xAC00, 0xD7AF), ("ja", 0x3040, 0x30FF),
    ("bn", 0x0980, 0x09FF), ("ta", 0x0B80, 0x0BFF), ("fa", 0x0750, 0x077F),
)
UKRAINIAN_LETTERS = set("іїєґ")
FUNCTION_WORDS = {
    "en": (["the", "and", "i", "to", "you", "my", "me", "is", "a", "it", "of", "that", "in", "not", "this", "what", "how", "do", "have", "be", "but", "so", "on", "for", "with", "just", "can", "we", "are", "was", "im", "its", "at", "about", "as", "well", "or", "does", "if", "he", "she", "they", "his", "her", "our", "your", "it's", "i'm", "don't", "can't", "will", "would", "should"]),
    "es": ["el", "la", "los", "las", "que", "de", "y", "en", "un", "una", "no", "me", "mi", "por", "para", "con", "es", "pero", "muy", "estoy", "yo", "lo", "ya"],
    "fr": ["le", "la", "les", "de", "et", "je", "un", "une", "est", "pas", "que", "mon", "ma", "me", "pour", "avec", "ce", "suis", "il", "elle", "tout", "veux", "plus", "jsuis", "j'ai"],
    "de": ["der", "die", "das", "und", "ich", "nicht", "ist", "ein", "eine", "mich", "mir", "mein", "meine", "zu", "mit", "auf", "es", "wie"],
    "pt": ["o", "a", "os", "as", "que", "de", "e", "um", "uma", "não", "eu", "meu", "minha", "com", "para", "por", "estou", "tô", "muito", "já", "só", "mais", "quero"],
    "it": ["il", "la", "che", "di", "e", "un", "una", "non", "mi", "sono", "per", "con", "ho", "è", "lo", "gli", "ma", "mio", "mia", "ce", "più"],
    "pl": ["i", "nie", "się", "że", "to", "jest", "na", "mi", "mnie", "mój", "moja", "już", "jak", "z", "do", "w", "co"],
    "tr": ["ve", "bir", "bu", "ben", "beni", "benim", "çok", "ne", "için", "ama", "da", "de", "mi", "değil", "artık", "bütün", "şu"],
    "nl": ["de", "het", "een", "en", "ik", "niet", "is", "van", "dat", "mijn", "ben", "je", "met", "op"],
}
# Letters that only some Latin-script languages use: each one found counts as a word.
LETTER_HINTS = {"tr": "ğşıİ", "pl": "ąęłńśźżć", "pt": "ãõ", "de": "ßä", "es": "ñ¿¡",
                "fr": "œèêëçàù", "it": "ìò"}
_WORDS_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def language(text: str) -> str:
    """"en", or the code of the language the message seems to be in (best effort)."""
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        cp = ord(char)
        for lang, low, high in SCRIPTS:
            if low <= cp <= high:
                counts[lang] = counts.get(lang, 0) + 1
                break
    if counts and letters:
        lang, n = max(counts.items(), key=lambda kv: kv[1])
        if n / letters >= 0.3:
            if lang == "ru" and UKRAINIAN_LETTERS & set(text.lower()):
                return "uk"
            return lang
    words = [w.lower() for w in _WORDS_RE.findall(text)]
    if len(words) < 2:
        return "en"
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in FUNCTION_WORDS.items()}
    for lang, letters_of in LETTER_HINTS.items():
        scores[lang] += min(2, sum(ch in letters_of for ch in text))
    best = max(scores, key=scores.get)
    if best != "en" and scores[best] >= 2 and scores[best] > 2 * scores["en"]:
        return best
    return "en"


# (category, regex) per language. Written for recall: any of these in a message in that
# language is a crisis.
FOREIGN: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (("overdose", r"pastillas|sobredosis|me tom[eé] (todo|toda|como)|veneno"),
           ("self_harm", r"me (corto|cort[eé]|he cortado|lastimo)|cortarme|autolesi"),
           ("abuse", r"me (pega|golpea|amenaz|viol)|me encierra|cuchillo|maltrat"),
           ("suicide", (r"matarme|suicid|quitarme la vida|no quiero (seguir )?vivir|quiero morir|"
                       r"morirme|desaparecer|acabar con todo|no aguanto|ya no puedo m[aá]s"))),
    "fr": (("overdose", r"aval[ée]|comprim[ée]s|cachets|m[ée]docs|bo[iî]te de"),
           ("self_harm", r"me scarifi|me coup|me mutil|me faire du mal"),
           ("abuse", r"me frappe|me bat|me menace|m'enferme|viol[ée]"),
           ("plan", r"tout pr[ée]par[ée]|dire adieu|lettre d'adieu"),
           ("suicide", (r"me tuer|suicid|mourir|crever|en finir|plus vivre|plus envie de vivre|"
                       r"disparaître"))),
    "de": (("overdose", r"tabletten|pillen|überdosis|vergiftet"),
           ("self_harm", r"ritze|geritzt|schneide mich|verletze mich"),
           ("abuse", r"schlägt mich|schlug mich|sperrt mich|bringt mich um|droht|vergewaltig"),
           ("plan", r"verabschieden|abschiedsbrief|brücke|springe"),
           ("suicide", (r"umbringen|bringe? mich um|selbstmord|suizid|sterben|nicht mehr leben|"
                       r"nicht mehr aufwachen|nicht mehr aufzuwachen|tot sein"))),
    "pt": (("overdose", r"rem[eé]dios|comprimidos|p[ií]lulas|overdose"),
           ("self_harm", r"me cortar|cortar-me|me corto|me cortei|me machuc"),
           ("abuse", r"me bate|me bateu|me trancou|me amea[cç]|estupr"),
           ("suicide", (r"me matar|matar-me|suic[ií]d|morrer|n[aã]o aguento|acabar com tudo|"
                       r"n[aã]o quero (mais )?viver|n[aã]o vou estar aqui"))),
    "it": (("overdose", r"pillole|gocce|pastiglie|farmaci|overdose"),
           ("self_harm", r"tagliat|mi taglio|autolesion"),
           ("abuse", r"mi picchia|mani addosso|mi minaccia|mi chiude|violent"),
           ("suicide", (r"uccidermi|ammazzarmi|suicid|morire|farla finita|faccio finita|"
                       r"non ce la faccio|paura di me stess"))),
    "ar": (("overdose", r"حبوب|الحبوب|دواء|أدوية"),
           ("self_harm", r"جرحت نفسي|أجرح نفسي|اجرح نفسي"),
           ("abuse", r"يضربني|بالقتل|يهددني|هددني"),
           ("suicide", (r"انتحار|الانتحار|أقتل نفسي|اقتل نفسي|أنهي حياتي|انهي حياتي|أموت|"
                       r"ما عدت أتحمل|ما عدت اتحمل"))),
    "hi": (("overdose", r"गोलियां|गोलियाँ|गोली|दवाई|ज़हर|जहर"),
           ("self_harm", r"ब्लेड|काट लिया|काटा"),
           ("abuse", r"मारता|मार देगा|पीटता|धमकी"),
           ("suicide", (r"आत्महत्या|मरना|मर जाना|जीना नहीं|जीने का मन नहीं|खत्म कर|ख़त्म कर|"
                       r"छत पर|मर चुकी|मर चुका"))),
    "zh": (("overdose", r"安眠药|安眠藥|药|藥|一整瓶"),
           ("self_harm", r"割|自残|自殘"),
           ("abuse", r"打我|杀了我|殺了我|家暴"),
           ("plan", r"遗书|遺書|跳楼|跳樓"),
           ("suicide", r"自杀|自殺|不想活|结束|結束|撐不下去|撑不下去|去死")),
    "ru": (("overdose", r"таблетк|выпил[аи]? вс|отравил"),
           ("self_harm", r"режусь|порезал|резать себя"),
           ("abuse", r"бь[её]т|убь[её]т|избил|забрал телефон"),
           ("suicide", (r"убить себя|покончить|суицид|самоубий|не хочу жить|вс[её] законч|"
                       r"прыгнуть|крыше"))),
    "uk": (("overdose", r"пігулк|таблетк|випил[аи]? вс"),
           ("self_harm", r"ріжу|порізал"),
           ("abuse", r"б'є|бив|вб'є|побив"),
           ("suicide", (r"не хочу жити|самогубств|вбити себе|вс[еі] закінчу|сенсу жити|"
                       r"зробити крок|всім буде краще без мене"))),
    "pl": (("overdose", r"tabletk|opakowanie leków|leków|lekow"),
           ("self_harm", r"tnę się|pocięłam|pociąłem|okaleczam"),
           ("abuse", r"bije|pobił|zabije|grozi"),
           ("suicide", r"zabić się|się zabić|zabic sie|samobój|nie chcę (już )?żyć|nie chce (juz )?zyc")),
    "tr": (("overdose", r"ilaç|hap"),
           ("self_harm", r"kendimi kes|jilet"),
           ("abuse", r"dövüyor|dövdü|izin vermiyor|kilitle"),
           ("suicide", r"intihar|yaşamak istemiyorum|ölmek|kendimi öldür|bitireceğim|ip bile aldım")),
}
_FOREIGN = {lang: tuple((cat, re.compile(rx)) for cat, rx in rows) for lang, rows in FOREIGN.items()}


def foreign_crisis(text: str, lang: str | None = None) -> str | None:
    """The crisis category of a message in another language, by keywords; None if none.

    The language named first is checked first, then every other list (languages are told
    apart by a few common words, and a short message may be put in the wrong one)."""
    lowered = (text or "").lower()
    langs = ([lang] if lang in _FOREIGN else []) + [c for c in _FOREIGN if c != lang]
    for code in langs:
        for category, regex in _FOREIGN[code]:
            if regex.search(lowered):
                return category
    return None
