"""Text normalisation and other languages for crisis detection. No Rasa imports.

``normalise`` undoes the ways people hide or bend crisis words (case, stretched letters,
leetspeak, censoring, spaced letters, misspellings, algospeak). It is defined in
``bot.clinic.textnorm`` and re-exported here: one normaliser, shared with the edge check
(``bot.clinic.edge_help``), which must not import anything heavy.

``language`` names the language of a message the assistant does not speak (by script, or by
common function words for Latin-script languages), and ``foreign_crisis`` finds crisis words in
the most spoken ones. Keyword lists are a backstop: they miss what they do not list, so a
message in another language always gets at least the multilingual safety line.
"""

from __future__ import annotations

import re

from bot.clinic.textnorm import EMOJI, LEXICON, PHRASES, WORDS, normalise  # noqa: F401 (re-exported)

# --- other languages -----------------------------------------------------------------

SCRIPTS = (  # (language, first code point, last code point)
    ("ar", 0x0600, 0x06FF), ("hi", 0x0900, 0x097F), ("zh", 0x4E00, 0x9FFF),
    ("ru", 0x0400, 0x04FF), ("he", 0x0590, 0x05FF), ("th", 0x0E00, 0x0E7F),
    ("el", 0x0370, 0x03FF), ("ko", 0xAC00, 0xD7AF), ("ja", 0x3040, 0x30FF),
    ("bn", 0x0980, 0x09FF), ("ta", 0x0B80, 0x0BFF), ("fa", 0x0750, 0x077F),
)
UKRAINIAN_LETTERS = set("іїєґ")
FUNCTION_WORDS = {
    "en": ["the", "and", "i", "to", "you", "my", "me", "is", "a", "it", "of", "that", "in", "not",
        "this", "what", "how", "do", "have", "be", "but", "so", "on", "for", "with", "just",
        "can", "we", "are", "was", "im", "its", "at", "about", "as", "well", "or", "does", "if",
        "he", "she", "they", "his", "her", "our", "your", "it's", "i'm", "don't", "can't", "will",
        "would", "should", "no", "yes", "right", "please", "pls", "say", "said", "like", "get",
        "got", "want", "need", "feel", "am", "been", "had", "has", "did", "there", "when", "why",
        "who", "all", "any", "some", "from", "by", "up", "out", "really", "very", "more", "know",
        "think", "go", "going", "an", "them", "him", "after", "before", "today", "tonight",
        "week", "ok", "okay", "thanks", "hi", "hey", "help", "sorry", "lol", "tbh", "idk", "dont",
        "cant", "ive", "homework", "session", "therapy", "therapist", "again", "still", "anymore",
        "because"],
    "es": ["el", "la", "los", "las", "que", "de", "y", "en", "un", "una", "no", "me", "mi", "por",
        "para", "con", "es", "pero", "muy", "estoy", "yo", "lo", "ya", "del", "al", "hoy",
        "tengo", "porque", "también", "nada", "esta", "está", "eso", "esto", "como", "quiero",
        "hola", "mis", "su", "sus", "le", "se", "te", "ayer", "gracias", "tu", "usted"],
    "fr": ["le", "la", "les", "de", "et", "je", "un", "une", "est", "pas", "que", "mon", "ma", "me",
        "pour", "avec", "ce", "suis", "il", "elle", "tout", "veux", "plus", "jsuis", "j'ai", "du",
        "des", "au", "aux", "mais", "ne", "c'est", "ça", "moi", "toi", "vous", "nous", "bonjour",
        "merci", "très", "aussi", "rien", "hier", "cette", "sur", "dans", "qui", "tu", "j'en",
        "m'a"],
    "de": ["der", "die", "das", "und", "ich", "nicht", "ist", "ein", "eine", "mich", "mir", "mein",
        "meine", "zu", "mit", "auf", "es", "wie", "den", "dem", "des", "bin", "du", "sie", "er",
        "wir", "auch", "aber", "noch", "schon", "nur", "hab", "habe", "kann", "heute", "gestern",
        "hallo", "danke", "sehr", "wenn", "weil", "dass", "oder", "ob"],
    "pt": ["o", "a", "os", "as", "que", "de", "e", "um", "uma", "não", "eu", "meu", "minha", "com",
        "para", "por", "estou", "tô", "muito", "já", "só", "mais", "quero", "me", "no", "na",
        "da", "dos", "das", "hoje", "tenho", "você", "voce", "isso", "ele", "ela", "também",
        "mas", "obrigado", "obrigada", "olá", "oi", "está", "tá", "pra", "porque", "nada",
        "ontem", "sei"],
    "it": ["il", "la", "che", "di", "e", "un", "una", "non", "mi", "sono", "per", "con", "ho", "è",
        "lo", "gli", "ma", "mio", "mia", "ce", "più", "sto", "scusa", "ciao", "questo", "questa",
        "momento", "della", "dell", "nel", "del", "hai", "anche", "perché", "sempre", "oggi",
        "ieri", "grazie", "molto", "ancora", "volevo", "sei"],
    "pl": ["i", "nie", "się", "że", "to", "jest", "na", "mi", "mnie", "mój", "moja", "już", "jak",
        "z", "do", "w", "co", "jestem", "mam", "nic", "ale", "tak", "dzisiaj", "bardzo", "czy",
        "tylko", "jeszcze", "moje", "dzień", "dobry", "cześć"],
    "tr": ["ve", "bir", "bu", "ben", "beni", "benim", "çok", "ne", "için", "ama", "da", "de", "mi",
        "değil", "artık", "bütün", "şu", "merhaba", "bugün", "sen", "var", "yok", "gibi", "daha",
        "bana", "bunu", "şimdi"],
    "nl": ["de", "het", "een", "en", "ik", "niet", "is", "van", "dat", "mijn", "ben", "je", "met",
        "op", "hij", "zij", "wij", "maar", "ook", "nog", "heb", "hebt", "vandaag", "hallo", "wat"],
    "vi": ["tôi", "không", "muốn", "của", "là", "và", "có", "được", "này", "em", "anh", "chị",
        "mình", "rồi", "nữa", "với", "cho", "đã", "đang", "sẽ", "vừa", "hết", "quá", "rất"],
    "tl": ["ako", "ang", "ng", "mga", "ko", "sa", "hindi", "ayoko", "nang", "niya", "siya", "ka",
        "ikaw", "kami", "tayo", "po", "lang", "naman", "kasi", "pero", "wala", "yung"],
    "sw": ["mimi", "wangu", "yangu", "kwa", "ya", "wa", "na", "sitaki", "nataka", "sana", "tena",
        "hapana", "ndani", "leo", "siwezi", "ni", "huko", "hii", "kila"],
    "id": ["aku", "saya", "tidak", "sudah", "ingin", "mau", "yang", "dan", "ini", "itu", "lagi",
        "saja", "gak", "nggak", "udah", "dengan", "untuk", "kamu", "dia", "tapi", "sangat", "nak",
        "tak"],
    "ro": ["să", "nu", "mă", "și", "vreau", "este", "pe", "cu", "eu", "mai", "sunt", "am", "îmi",
        "mi", "la", "din", "acum", "foarte"],
    "hi_latn": ["main", "mein", "hai", "hoon", "hun", "nahi", "nahin", "ka", "ki", "ke", "ko",
        "mujhe", "mera", "meri", "kya", "aur", "bhi", "yaar", "ab", "sab", "kar", "raha", "rahi",
        "gaya", "gayi", "tha", "thi", "se"],
}
_FUNCTION_SETS = {lang: frozenset(words) for lang, words in FUNCTION_WORDS.items()}
# Letters that only some Latin-script languages use: each one found counts as a word.
LETTER_HINTS = {"tr": "ğşıİöü", "pl": "ąęłńśźżć", "pt": "ãõ", "de": "ßä", "es": "ñ¿¡",
                "fr": "œèêëçàù", "it": "ìò", "vi": "ơưđạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
                "ro": "șțî"}
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
    english = _FUNCTION_SETS["en"]
    # Words a language shares with English ("no", "me", "a", "i", "to") count for neither side.
    scores = {lang: sum(w in vocab and w not in english for w in words)
              for lang, vocab in _FUNCTION_SETS.items() if lang != "en"}
    for lang, letters_of in LETTER_HINTS.items():
        scores[lang] += min(2, sum(ch in letters_of for ch in text))
    best = max(scores, key=scores.get)
    english_only = sum(w in english and w not in _FUNCTION_SETS[best] for w in words)
    if scores[best] >= 2 and scores[best] > 2 * english_only:
        return best
    return "en"


# A crisis told as past and over ("Five years ago I tried to end my life. Now I'm a peer support
# worker"): markers of a resolved past, and of the present that overrides them ("I used to
# cut, and last night I did again"). Such a message gets the gentle check, not the full
# crisis response: it is never left without help, and an enrolled client's clinic is not
# paged for their history.
RECOVERED = re.compile(
    r"\b(used to|years? ago|months ago|a long time ago|when i was (a |in )?(teen|teenager|kid|child|"
    r"younger|student|at school|\d+)|back (in|when)|in (19|20)\d\d|as a teen(ager)?|"
    r"((i'?m|i am) (now )?(doing )?(well|ok|okay|fine|better|safe|good)|doing (well|ok|okay|better|good))( now)?\b|"
    r"now i'?m|got help|survived|recovered|in recovery|(years?|months?) (clean|free|sober)|clean (for|since)|"
    r"it'?s over|behind me|made peace|not where i am now|don'?t feel (like )?that (any ?more|now)|"
    r"haven'?t (felt|done|needed|thought) .{0,40}(in|for) (years|months|ages|a long time))",
    re.IGNORECASE)
PRESENT_RISK = re.compile(
    r"\b(again|tonight|today|right now|relaps\w*|this (morning|evening|week)|last night|yesterday|"
    r"just (did|took|cut|swallowed)|want to|wanna|going to|gonna|plan(ning)? to|can'?t (stop|cope|go on)|"
    r"urges?|tempted|back to|started again|slipped|don'?t feel safe|not safe)\b",
    re.IGNORECASE)


def recovered_past(text: str) -> bool:
    """Whether a message tells of a crisis as past and over, with nothing of the present."""
    return bool(RECOVERED.search(text or "")) and not PRESENT_RISK.search(text or "")


# (category, regex) per language, tried in order: the first that matches names the category.
# Written for recall, from our own wording of each kind of crisis (not from any evaluation
# set): any of these in a message in that language is a crisis.
FOREIGN: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (("medical", (r"no (para|deja) de sangrar|sangrando mucho|mucha sangre|no puedo respirar|"
                        r"dolor (fuerte )?en el pecho|se desmay|me desmay|convulsi|inconsciente")),
           ("overdose", (r"pastillas|sobredosis|me tom[eé] (todo|toda|todas|todos|como|un frasco|una caja|"
                         r"el frasco|la caja)|me trag[ué]|veneno|envenen|frasco entero|caja entera|"
                         r"me tom[eé] .{0,20}(cloro|lej[ií]a)")),
           ("self_harm", (r"me (corto|cort[eé]|he cortado|estoy cortando|lastimo|lastim[eé]|quem[eé]|"
                          r"quemo)|cortarme|autolesi|me hago daño|me hice daño|navaja|cuchilla")),
           ("abuse", (r"me (pega|peg[oó]|golpea|golpe[oó]|amenaz|viol|encierra|encerr[oó]|ahorc|"
                      r"maltrata|quit[oó] (el|mi) (tel[eé]fono|celular|pasaporte))|cuchillo|maltrat|"
                      r"(me|nos) (va|van) a matar|me quiere matar|lo denuncio me mata|me mata si|"
                      r"no me deja salir|estoy escondid|abus[oó] de m[ií]")),
           ("harm_others", r"(quiero|voy a|ganas de) (matarlo|matarla|matarlos|hacerle daño)"),
           ("worried_other", r"se (quiere|va a) (matar|suicidar)|quiere suicidarse|se quiere morir"),
           ("psychosis", r"(las|unas) voces me (dicen|ordenan|piden)|voces que me (dicen|ordenan)"),
           ("suicide", (r"matarme|me voy a matar|me mato|suicid|quitarme la vida|no quiero (seguir )?vivir|quiero morir|"
                        r"me quiero morir|morirme|desaparecer|acabar con todo|acabar con mi vida|"
                        r"no aguanto|ya no puedo m[aá]s|dejar de existir|no quiero existir|"
                        r"no despertar|mejor (estar|estar[ií]a) muert|mejor sin m[ií]|"
                        r"ya no quiero estar aqu[ií]|no vale la pena vivir")),
           ("plan", (r"carta de despedida|despedirme de|ahorcarme|voy a saltar|saltar (del|desde el) puente|una soga|tirarme (de|del|desde|al)|"
                     r"aventarme|lanzarme (de|del|desde)|(tengo|ya est[aá]) todo (planeado|preparado)"))),
    "fr": (("medical", (r"[çc]a saigne|je saigne|saigne (beaucoup|encore|trop)|saignement|"
                        r"le sang (ne )?s'arr[eê]te|respire (plus|pas|mal)|(du )?mal [àa] respirer|"
                        r"(douleur|mal) (dans|[àa]) la poitrine|[ée]vanoui|convulsion|inconscient")),
           ("overdose", (r"aval[ée]|comprim[ée]s|cachets|m[ée]docs|(tous|toutes) (mes|les) m[ée]dicaments|bo[iî]te de|"
                         r"bo[iî]te enti[eè]re|surdose|overdose|empoisonn|bu de la javel")),
           ("self_harm", (r"me scarifi|scarifi|me coup|me mutil|me faire du mal|me br[uû]l|"
                          r"automutil|lame de rasoir|rasoir")),
           ("abuse", (r"me frappe|me bat|m'a (frapp|battu|cogn|gifl|viol|enferm|[ée]trangl)|me menace|"
                      r"m'enferme|viol[ée]|me cogne|m'[ée]trangl|va me tuer|me tuer si|"
                      r"m'emp[eê]che de sortir|m'a pris mon (t[ée]l[ée]phone|passeport)")),
           ("harm_others", r"(envie de|vais|veux) (le|la|les) tuer|(vais|veux) tuer (mon|ma|mes)|faire du mal [àa] (mon|ma) b[ée]b[ée]"),
           ("psychosis", r"(les|des) voix (me|qui me) (disent|ordonnent|demandent)"),
           ("plan", r"tout pr[ée]par[ée]|dire adieu|lettre d'adieu|me pendre|sauter (du|d'un|de la|par)|me jeter (du|d'un|de la|sous|par)"),
           ("suicide", (r"me tuer|suicid|mourir|crever|en finir|plus vivre|plus envie de vivre|"
                        r"dispara[iî]tre|foutre en l'air|mettre fin [àa] (mes jours|ma vie)|"
                        r"plus me r[ée]veiller|pas me r[ée]veiller|mieux sans moi|plus capable de vivre|"
                        r"je veux plus (vivre|exister)"))),
    "de": (("medical", (r"h[öo]rt nicht auf zu bluten|blutet (stark|sehr|immer noch)|viel blut|"
                        r"kann nicht (mehr )?atmen|keine luft|brustschmerz|schmerzen in der brust|"
                        r"bewusstlos|ohnm[äa]chtig|krampfanfall")),
           ("overdose", (r"tabletten|pillen|[üu]berdosis|vergiftet|ganze packung|schlaftabletten|"
                         r"alle (meine )?medikamente|medikamente (genommen|geschluckt)")),
           ("self_harm", r"ritze|geritzt|schneide mich|verletze mich|selbstverletz|rasierklinge"),
           ("abuse", (r"schl[äa]gt mich|schlug mich|(hat )?mich geschlagen|sperrt mich|eingesperrt|"
                      r"bringt mich um|droht|vergewaltig|w[üu]rgt|gew[üu]rgt|verpr[üu]gelt|"
                      r"l[äa]sst mich nicht (raus|gehen|weg)|nimmt mir (das|mein|die)")),
           ("harm_others", r"(will|werde|m[öo]chte) (ihn|sie) umbringen|meinem baby (weh|etwas)"),
           ("psychosis", r"stimmen (sagen|befehlen|verlangen)|die stimmen"),
           ("plan", r"verabschieden|abschiedsbrief|br[üu]cke|springe|springen|strick|aufh[äa]ngen|alles vorbereitet"),
           ("suicide", (r"umbringen|bringe? mich um|selbstmord|suizid|sterben|nicht mehr leben|"
                        r"nicht mehr aufwachen|nicht mehr aufzuwachen|tot sein|lebensm[üu]de|"
                        r"(ob|dass) ich .{0,30}noch lebe|mein leben beenden|allem ein ende|"
                        r"alle w[äa]ren besser dran"))),
    "pt": (("medical", (r"sangrando muito|(o )?sangue n[aã]o (para|p[aá]ra)|n[aã]o (consigo|to|t[oô]) "
                        r"(conseguindo )?respirar|dor no peito|desmai|convuls|inconsciente")),
           ("overdose", (r"rem[eé]dio|comprimidos|p[ií]lulas|overdose|veneno|envenen|cartela|"
                         r"tomei (tudo|todos|todas|uma caixa)")),
           ("self_harm", (r"me cortar|cortar-me|me corto|me cortei|me cortando|me machuc|automutil|"
                          r"gilete|l[aâ]mina")),
           ("abuse", (r"me bate|me bateu|me trancou|me tranca|me amea[cç]|estupr|me agride|me agrediu|"
                      r"me espanca|apanho|tirou meu (celular|telefone|passaporte)|n[aã]o me deixa sair|"
                      r"vai me matar|me enforc")),
           ("harm_others", r"(quero|vou) matar (ele|ela)|machucar (o|meu) (beb[eê]|filho)"),
           ("psychosis", r"(as )?vozes (me )?(mandam|dizem|ordenam)"),
           ("suicide", (r"me matar|matar-me|suic[ií]d|morrer|n[aã]o aguento|acabar com tudo|"
                        r"n[aã]o quero (mais )?viver|n[aã]o vou estar aqui|quero sumir|desaparecer|"
                        r"tirar (a )?minha (pr[oó]pria )?vida|melhor sem mim|n[aã]o acordar")),
           ("plan", r"carta de despedida|me despedir|me jogar|me enforcar|(tudo|j[aá]) (planejado|preparado)")),
    "it": (("medical", (r"non (smette|si ferma) di sanguinare|sanguin|perdo sangue|"
                        r"non riesco a respirare|dolore al petto|svenut|convulsion|privo di sensi")),
           ("overdose", (r"pillole|gocce|pastiglie|farmaci|overdose|compresse|scatola intera|veleno|"
                         r"avvelenat|candeggina")),
           ("self_harm", (r"tagliat|mi taglio|mi sto tagliando|tagliarmi|autolesion|lametta|"
                          r"mi sono bruciat|bruciarmi|farmi del male|mi faccio del male")),
           ("abuse", (r"mi picchia|mani addosso|mani al collo|mi minaccia|mi chiude|violent|"
                      r"mi ha (picchiat|chius|minacciat|stuprat)|mi controlla|non mi lascia uscire|"
                      r"stupr|mi ammazza|mi uccider[àa]")),
           ("harm_others", r"(ucciderlo|ucciderla|ammazzarlo|ammazzarla|fare del male al (bambino|mio))"),
           ("psychosis", r"(le )?voci (mi )?(dicono|ordinano)|voci che mi"),
           ("suicide", (r"uccidermi|ammazzarmi|suicid|morire|farla finita|faccio finita|"
                        r"non ce la faccio|paura di me stess|togliermi la vita|non voglio pi[uù] vivere|"
                        r"sparire|meglio senza di me|non svegliarmi")),
           ("plan", r"buttarmi|gettarmi|lanciarmi|saltare gi[uù]|lettera d'addio|dire addio|impiccarmi|(ho )?(gi[aà] )?preparato tutto")),
    "ar": (("medical", r"الدم ما وقف|الدم لا يتوقف|نزيف|ما اقدر اتنفس|لا أستطيع التنفس|لا استطيع التنفس|ألم في صدري|الم في صدري|أغمي|اغمي"),
           ("overdose", r"حبوب|الحبوب|دواء|أدوية|ادوية|بلعت|تسمم"),
           ("self_harm", r"جرحت نفسي|أجرح نفسي|اجرح نفسي|جرحت يدي|بالموس|شفرة|أذيت نفسي|اذيت نفسي"),
           ("abuse", r"يضربني|ضربني|بالقتل|يهددني|هددني|يحبسني|حبسني|أخذ جوازي|اخذ جوازي|أخذ جوالي|اخذ جوالي|لا يسمح لي بالخروج|اغتصب"),
           ("suicide", (r"انتحار|الانتحار|أقتل نفسي|اقتل نفسي|أنهي حياتي|انهي حياتي|أموت|اموت|"
                        r"ما عدت أتحمل|ما عدت اتحمل|لا أريد أن أعيش|لا اريد ان اعيش|ما بدي عيش|"
                        r"أرمي نفسي|ارمي نفسي|أشنق|اشنق")),
           ("plan", r"رسالة وداع|حبل")),
    "hi": (("medical", r"खून रुक नहीं|खून बंद नहीं|सांस नहीं|साँस नहीं|सीने में दर्द|बेहोश"),
           ("overdose", r"गोलियां|गोलियाँ|गोली|दवाई|दवा खा|ज़हर|जहर|पूरी शीशी"),
           ("self_harm", r"ब्लेड|काट लिया|काटा|नस काट|हाथ काट|खुद को चोट"),
           ("abuse", r"मारता|मार देगा|पीटता|पीटती|धमकी|जान से मार|बंद कर दिया|बलात्कार"),
           ("suicide", (r"आत्महत्या|मरना|मर जाना|जीना नहीं|जीने का मन नहीं|खत्म कर|ख़त्म कर|"
                        r"छत पर|मर चुकी|मर चुका|मर जाऊं|मर जाऊँ|खुद को मार|ख़ुद को मार|ज़िंदगी खत्म|जिंदगी खत्म")),
           ("plan", r"कूद जा|कूदने|फांसी|फाँसी|रस्सी")),
    "zh": (("medical", r"血止不住|血一直流|喘不过气|喘不過氣|不能呼吸|无法呼吸|無法呼吸|胸口疼|胸口痛|昏倒|晕倒|暈倒"),
           ("overdose", r"安眠药|安眠藥|药|藥|一整瓶|农药|農藥"),
           ("self_harm", r"割|自残|自殘|伤害自己|傷害自己|刀片"),
           ("abuse", r"打我|杀了我|殺了我|家暴|锁在|鎖在|威胁|威脅|强奸|強姦"),
           ("plan", r"遗书|遺書|跳楼|跳樓|楼顶|樓頂|天台|跳下去|上吊|绳子|繩子"),
           ("suicide", r"自杀|自殺|不想活|结束|結束|撐不下去|撑不下去|去死|想死|活不下去|了结|了結")),
    "ru": (("medical", r"кровь не останавл|не могу дышать|задыхаюсь|боль в груди|без сознания|потерял[аи]? сознание"),
           ("overdose", r"таблет|выпил[аи]? вс|отравил|наглотал|снотворн"),
           ("self_harm", r"режусь|порезал|резать себя|лезви|вскрыть вены|режу себя"),
           ("abuse", (r"бь[её]т|убь[её]т|избил|забрал (телефон|паспорт|документы)|запер|не выпускает|"
                      r"угрожа|изнасил|душил")),
           ("suicide", (r"убить себя|покончить|суицид|самоубий|не хочу жить|вс[её] законч|"
                        r"прыгнуть|крыше|хочу умереть|нет смысла жить|лучше без меня|не проснуться|"
                        r"повеситься|сдохнуть")),
           ("plan", r"предсмертн|прощальн|верёвк|веревк|подоконник")),
    "uk": (("medical", r"кров не зупиня|не можу дихати|задихаюс|біль у грудях|без свідомості"),
           ("overdose", r"пігулк|таблет|випил[аи]? вс|отруїл|наковтал"),
           ("self_harm", r"ріжу|порізал|лезо|різати себе"),
           ("abuse", r"б'є|бив|вб'є|побив|погрожу|замкну|забрав (телефон|паспорт)|зґвалт"),
           ("suicide", (r"не хочу жити|самогубств|вбити себе|вс[еі] закінчу|сенсу жити|"
                        r"зробити крок|всім буде краще без мене|покінчити|накласти на себе руки|"
                        r"хочу померти|стрибн|на даху|підвіконн|повіситис")),
           ("plan", r"прощальн|мотузк")),
    "pl": (("medical", r"krew (nie|leci)|krwawi|nie mog[eę] oddycha|dusz[eę] si[eę]|b[oó]l w klatce|zemdla|nieprzytomn"),
           ("overdose", r"tabletk|opakowanie lek[oó]w|lek[oó]w|łyknęłam|połknęłam|połknąłem|przedawkow"),
           ("self_harm", r"tnę się|tne sie|pocięłam|pociąłem|okaleczam|żyletk|zyletk|cięłam"),
           ("abuse", r"bije|pobił|zabije|grozi|zamknął mnie|zabrał mi (telefon|paszport)|zgwałc|dusił"),
           ("suicide", (r"zabić się|się zabić|zabic sie|samobój|nie chcę (już )?żyć|nie chce (juz )?zyc|"
                        r"umrzeć|umrzec|skończyć ze sobą|odebrać sobie życie|lepiej beze mnie|"
                        r"skoczyć z|skoczyc z|powiesić")),
           ("plan", r"list pożegnaln|pożegnać się|wszystko przygotowane|sznur")),
    "tr": (("medical", r"kan durmuyor|kanama durmuyor|nefes alamıyorum|göğsüm ağrıyor|bayıldı|bilinci kapalı"),
           ("overdose", r"ilaç|\bhap(lar|ları|ı)?\b|zehir|çamaşır suyu"),
           ("self_harm", r"kendimi (yine |gene |tekrar )?kes|jilet|bileğimi kes|kendime zarar"),
           ("abuse", r"dövüyor|dövdü|izin vermiyor|kilitle|öldürecek|tehdit|tecavüz|telefonumu aldı"),
           ("suicide", (r"intihar|yaşamak istemiyorum|ölmek|kendimi öldür|bitireceğim|canıma kıy|"
                        r"hayatıma son|yaşamanın anlamı yok|(köprüden|çatıdan|balkondan) atla")),
           ("psychosis", r"sesler .{0,40}(söylüyor|diyor|emrediyor)"),
           ("plan", r"ip bile aldım|ip aldım|veda mektub|vedalaş")),
    # Languages without a reply line of their own (the reply lists every line): Dutch,
    # Vietnamese, Tagalog, Swahili, Indonesian and Malay, Romanian, Hindi written in Latin
    # letters, Japanese, Korean and Greek.
    "nl": (("medical", r"kan niet (meer )?ademen|pijn op (de|mijn) borst|bewusteloos|flauwgevallen|bloedt (heel )?(erg|veel)"),
           ("overdose", r"pillen|tabletten|overdosis|alle medicijnen|slaappillen|vergif"),
           ("self_harm", r"snij mezelf|sneed mezelf|mezelf (pijn doen|snijden|verwonden)|zelfbeschadig|scheermesje"),
           ("abuse", r"slaat me|sloeg me|sluit me op|opgesloten|bedreigt me|verkracht|wurgt|laat me niet (gaan|weg|naar buiten)"),
           ("harm_others", r"(wil|ga) (hem|haar) (vermoorden|iets aandoen)"),
           ("psychosis", r"stemmen (zeggen|bevelen|willen)"),
           ("worried_other", r"(hij|zij|ze) (wil|gaat) (zichzelf|zich) (van kant maken|iets aandoen|doden)|zichzelf (van kant|iets aan)|zelfmoord (wil )?plegen"),
           ("suicide", r"zelfmoord|su[iï]cid|wil dood|dood willen|niet meer (willen )?leven|van kant (te )?maken|er een eind aan maken|mezelf (iets aandoen|doden|ombrengen)|niet meer wakker|beter zonder mij"),
           ("plan", r"afscheidsbrief|afscheid (te )?nemen|van de brug|touw")),
    "vi": (("medical", r"không thở được|khó thở|đau ngực|bất tỉnh|ngất|chảy máu nhiều|máu không ngừng"),
           ("overdose", r"uống hết|thuốc ngủ|uống thuốc|quá liều|thuốc độc|lọ thuốc|thuốc chuột"),
           ("self_harm", r"tự làm đau|rạch tay|cắt tay|tự hại|dao lam"),
           ("abuse", r"đánh (tôi|em|con|mình)|nhốt (tôi|em|con|mình)|đe dọa|dọa giết|hiếp|bạo hành"),
           ("psychosis", r"giọng nói .{0,12}(bảo|bắt|ra lệnh)"),
           ("suicide", r"tự tử|tự sát|muốn chết|không muốn sống|kết thúc cuộc đời|chết đi|không thiết sống"),
           ("plan", r"thư tuyệt mệnh|nhảy cầu|nhảy lầu|treo cổ|dây thừng")),
    "tl": (("medical", r"hindi makahinga|di makahinga|sakit ng dibdib|nahimatay|walang malay"),
           ("overdose", r"ininom ko (lahat|lahat ng)|ininom ko ang lahat|sobrang gamot|maraming gamot|\blason\b"),
           ("self_harm", r"sinusugatan ko|hiniwa ko|sinasaktan ko ang sarili|saktan ang sarili|hiwain ang"),
           ("abuse", r"sinasaktan ako|binubugbog|bugbog|pinapalo ako|nakakulong|kinulong|tinatakot ako|ginahasa|papatayin (niya|nila) ako"),
           ("suicide", r"magpakamatay|magpapakamatay|nagpakamatay|mamatay na|gusto ko nang mamatay|ayoko nang mabuhay|ayaw ko nang mabuhay|tapusin ang buhay|wakasan ang buhay"),
           ("plan", r"tatalon|magbibigti|bigti|lubid")),
    "sw": (("medical", r"siwezi kupumua|maumivu ya kifua|amezimia|hajitambui|damu haiachi"),
           ("overdose", r"dawa zote|nimekunywa dawa|vidonge|\bsumu\b"),
           ("self_harm", r"najikata|nimejikata|kujidhuru|kujiumiza"),
           ("abuse", r"ananipiga|amenipiga|wananipiga|amenifungia|ananifungia|ananitishia|kunibaka|amenibaka|ataniua"),
           ("suicide", r"kujiua|nataka kufa|sitaki kuishi|najiua|nitajiua"),
           ("plan", r"kujinyonga|kamba|kuruka kutoka")),
    "id": (("medical", r"tidak bisa (bernapas|bernafas)|gak bisa napas|sesak napas|nyeri dada|sakit dada|pingsan|tidak sadar"),
           ("overdose", r"minum semua obat|obat tidur|overdosis|racun|sebotol|obat (sebanyak|banyak)"),
           ("self_harm", r"menyayat|sayat tangan|melukai diri|lukai diri|silet"),
           ("abuse", r"memukul (saya|aku)|memukulku|dipukul|mukul aku|dikurung|mengurung (saya|aku)|mengancam|diperkosa|akan membunuh(ku| saya| aku)"),
           ("suicide", r"bunuh diri|ingin mati|mau mati|pengen mati|nak mati|(tidak|tak|gak|nggak) (ingin|nak|mau) hidup|mengakhiri hidup|akhiri hidup|tidak kuat lagi|gak kuat lagi"),
           ("plan", r"surat wasiat|lompat dari|gantung diri")),
    "ro": (("medical", r"nu pot respira|durere [îi]n piept|le[șs]inat|incon[șs]tient"),
           ("overdose", r"toate pastilele|pastile|supradoz|otrav"),
           ("self_harm", r"m[ăa] tai|m-am t[ăa]iat|\blam[ăa]\b"),
           ("abuse", r"m[ăa] bate|m-a b[ăa]tut|m[ăa] [îi]ncuie|m-a [îi]ncuiat|m[ăa] amenin[țt]|viol"),
           ("suicide", r"sinucid|s[ăa] m[ăa] omor|vreau s[ăa] mor|nu mai vreau s[ăa] tr[ăa]iesc|s[ăa]-mi iau via[țt]a"),
           ("plan", r"scrisoare de adio|s[ăa] sar de|sp[âa]nzur")),
    "hi_latn": (("medical", r"saa?ns nahi|seene (mein|me) dard|behosh"),
                ("overdose", r"saa?ri goliyaa?n|goliyaa?n kha|goli kha li|dawai kha li|zeher|zahar"),
                ("self_harm", r"haa?th kaa?t|nas kaa?t|blade se|khud ko chot"),
                ("abuse", r"mujhe maa?rta|mujhe pee?t|pitai karta|maar dalega|jaan se maa?r|dhamki"),
                ("suicide", r"khudkushi|aa?tmahatya|mar jaa?na|marna chaa?h|marna hai|mar jaa?u|jee?na nahi|jee nahi sak|ji nahi sak|zindagi khatam|sab khatam kar|khud ko maa?r|jaan de d"),
                ("plan", r"chhat se kood|kood jaa?u|phaa?nsi|rassi")),
    "ja": (("medical", r"息ができない|呼吸ができない|胸が痛い|意識がない|倒れた"),
           ("overdose", r"薬を全部|大量に飲|過剰摂取|オーバードーズ|睡眠薬|毒を"),
           ("self_harm", r"リスカ|リストカット|自傷|手首を切"),
           ("abuse", r"殴られ|殴る|暴力|閉じ込め|脅さ|殺される|レイプ"),
           ("psychosis", r"声が.{0,8}(言う|命令|しろ)"),
           ("suicide", r"死にたい|自殺|消えたい|死のう|生きたくない|終わりにする|終わらせたい"),
           ("plan", r"遺書|飛び降り|首を吊|ロープ")),
    "ko": (("medical", r"숨을 못|숨이 안|가슴이 아파|의식이 없|쓰러졌"),
           ("overdose", r"약을 다|약을 전부|수면제|과다복용|독약"),
           ("self_harm", r"자해|손목을 긋|칼로 긋|그었"),
           ("abuse", r"때려|때리|가둬|가두|협박|죽인다고|성폭행"),
           ("psychosis", r"목소리가.{0,10}(시켜|하라고)"),
           ("suicide", r"죽고 싶|자살|살고 싶지 않|죽을 거|죽을거|사라지고 싶|끝내고 싶|죽어버리"),
           ("plan", r"유서|뛰어내리|목을 매|밧줄")),
    "el": (("medical", r"δεν μπορώ να αναπνεύσω|πόνος στο στήθος|λιπόθυμ|αναίσθητ"),
           ("overdose", r"χάπια|χαπια|υπερβολική δόση"),
           ("self_harm", r"κόβω τον εαυτό|αυτοτραυματ"),
           ("abuse", r"με χτυπά|με δέρνει|με κλειδώνει|με απειλεί|βιασ"),
           ("suicide", r"αυτοκτον|θέλω να πεθάνω|θελω να πεθανω|δεν θέλω να ζω|δεν θελω να ζω|να τελειώσω|θα τελειώσω"),
           ("plan", r"να πηδήξω|κρεμαστ|σχοινί|γράμμα αποχαιρετισμού")),
}
# A body in danger first, then voices giving commands (their "hurt yourself" is psychosis,
# not self-harm), then each language's own order.
_FIRST = {"medical": 0, "psychosis": 1}
_FOREIGN = {lang: tuple((cat, re.compile(rx)) for cat, rx in
                        sorted(rows, key=lambda row: _FIRST.get(row[0], 2)))
            for lang, rows in FOREIGN.items()}


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
