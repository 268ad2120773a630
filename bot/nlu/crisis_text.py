"""Text normalisation and other languages for crisis detection. No Rasa imports.

``normalise`` undoes the ways people hide or bend crisis words (case, stretched letters,
leetspeak, censoring, spaced letters, misspellings, algospeak). It is defined in
``bot.textnorm`` and re-exported here: one normaliser, shared with the edge check
(``bot.edge_help``), which must not import anything heavy.

``language`` names the language of a message the assistant does not speak (by script, or by
common function words for Latin-script languages), and ``foreign_crisis`` finds crisis words in
the most spoken ones. Keyword lists are a backstop: they miss what they do not list, so a
message in another language always gets at least the multilingual safety line.
"""

from __future__ import annotations

import re

from bot.textnorm import EMOJI, LEXICON, PHRASES, WORDS, normalise  # noqa: F401 (re-exported)

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
