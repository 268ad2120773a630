"""The crisis categories are defined once and everything follows them; normalisation; languages;
the pattern notation. No trained model needed."""

from __future__ import annotations

import pytest
import yaml

from bot import domain_files
from bot.clinic import crisis_categories as cc
from bot.rasa_ext.nlu.crisis_text import foreign_crisis, language, normalise
from tests.helpers import REPO


def _yaml(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text(encoding="utf-8"))


def test_every_category_has_its_intent_reply_and_rule():
    domain = domain_files.merged()
    rules = _yaml("data/rules/safety.yml")["rules"]
    rule_intents = {step["intent"] for rule in rules for step in rule["steps"] if "intent" in step}
    for category in cc.CATEGORIES:
        assert category.intent in domain["intents"], category
        assert category.utter in domain["responses"], category
        assert category.intent in rule_intents, category
    crisis_intents = {i for i in domain["intents"] if i.startswith(cc.CRISIS_PREFIX)}
    assert crisis_intents == set(cc.INTENTS), "a crisis intent in the domain with no category"


def test_every_category_has_training_examples():
    data = _yaml("data/nlu/crisis.yml")["nlu"]
    counts = {item["intent"]: len(item["examples"].strip().splitlines()) for item in data}
    for category in cc.CATEGORIES:
        assert counts.get(category.intent, 0) >= 25, category


def test_the_rules_give_the_resources_before_the_category_reply():
    for rule in _yaml("data/rules/safety.yml")["rules"]:
        steps = rule["steps"]
        if steps and cc.category_of_intent(steps[0].get("intent")):
            assert steps[1] == {"action": "action_crisis_resources"}, rule["rule"]


def test_priority_puts_the_body_in_danger_first():
    assert cc.first(["suicide", "overdose", "abuse"]) == "overdose"
    assert cc.first(["suicide", "medical"]) == "medical"
    assert cc.first(["self_harm", "worried_other"]) == "worried_other"
    assert cc.first(["nonsense"]) is None


@pytest.mark.parametrize("raw, plain", [
    ("i want to k1ll mys3lf", "i want to kill myself"),
    ("SU1C1DE", "suicide"),
    ("su!c!dal", "suicidal"),
    ("k*ll myself", "kill myself"),
    ("s*icide", "suicide"),
    ("k m s", "kill myself"),
    ("s u i c i d e", "suicide"),
    ("s.u.i.c.i.d.e", "suicide"),
    ("i want to diiiiie", "i want to die"),
    ("unaliving myself", "kill myself"),
    ("thinking about unaliving", "thinking about suicide"),
    ("gonna unalive my boss", "gonna kill my boss"),
    ("thoughts of sewer slide", "thoughts of suicide"),
    ("thinking about self-deleting", "thinking about kill myself"),
    ("sucide", "suicide"),
    ("feeling really suicidial today", "feeling really suicidal today"),
    ("took all my 💊", "took all my pills"),
    ("the long nap", "death"),
])
def test_normalisation_makes_hidden_words_plain(raw, plain):
    assert " ".join(normalise(raw).split()) == plain


@pytest.mark.parametrize("text, expected", [
    ("what are the phases of IPT?", "what are the phases of ipt?"),
    ("I'm 15", "i'm 15"),
    ("my session is at 10:30", "my session is at 10:30"),
    ("soooo tired today", "soo tired today"),
    ("I need 2 sessions a week", "i need 2 sessions a week"),
])
def test_normalisation_leaves_ordinary_words_alone(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("text, lang", [
    ("ya no puedo más, quiero desaparecer", "es"),
    ("je ne veux plus vivre, j'ai tout préparé", "fr"),
    ("ich will nicht mehr leben, es ist zu viel", "de"),
    ("não aguento mais, quero morrer", "pt"),
    ("non ce la faccio più, stasera la faccio finita", "it"),
    ("nie chcę już żyć", "pl"),
    ("artık yaşamak istemiyorum", "tr"),
    ("я больше не хочу жить", "ru"),
    ("я більше не хочу жити", "uk"),
    ("لا أريد أن أعيش", "ar"),
    ("मैं अब जीना नहीं चाहता", "hi"),
    ("我不想活了", "zh"),
])
def test_the_language_of_a_message_is_recognised(text, lang):
    assert language(text) == lang


@pytest.mark.parametrize("text", [
    "what are the phases of IPT", "does IPT work as well for men as for women",
    "my grandma died and I feel low", "ok", "thanks!", "Hi, I'm Ana",
])
def test_english_is_english(text):
    assert language(text) == "en"


@pytest.mark.parametrize("text, category", [
    ("tomé todas las pastillas", "overdose"),
    ("mi esposo me pega", "abuse"),
    ("je veux me tuer", "suicide"),
    ("hab mich wieder geritzt", "self_harm"),
    ("quero me matar", "suicide"),
    ("mi sono tagliata di nuovo", "self_harm"),
    ("زوجي يضربني", "abuse"),
    ("मैं आत्महत्या के बारे में सोच रहा हूँ", "suicide"),
    ("我刚吃了一整瓶安眠药", "overdose"),
    ("муж бьёт меня", "abuse"),
    ("mój mąż mnie bije", "abuse"),
    ("intihar etmeyi düşünüyorum", "suicide"),
    ("я вже не бачу сенсу жити", "suicide"),
])
def test_crisis_words_in_the_most_spoken_languages(text, category):
    assert foreign_crisis(text, language(text)) == category


def test_an_ordinary_message_in_another_language_is_no_crisis():
    assert foreign_crisis("¿a qué hora es mi cita?", "es") is None
    assert foreign_crisis("merci pour la séance d'hier", "fr") is None


def test_macros_are_expanded_inside_alternatives():
    from bot.rasa_ext.nlu.crisis_patterns import MACROS, compile_pattern

    tokens = compile_pattern("not * safe * with|around|near * him|her|them|my|{PERSON}")
    allowed = tokens[-1]["NORM"]["IN"]
    assert "{PERSON}" not in allowed and "husband" in allowed and "my" in allowed
    tokens = compile_pattern("@threaten * to? {KILL}|hurt|harm|take")
    regex = tokens[-1]["LOWER"]["REGEX"]
    assert "k+i+l+" in regex and "hurt" in regex
    assert MACROS["KILL"].strip("/") in regex


def test_the_patterns_match_after_the_fix():
    import spacy

    from bot.rasa_ext.nlu.crisis_patterns import best_match, build_matcher, match_labels

    nlp = spacy.blank("en")
    matcher = build_matcher(nlp.vocab)
    assert best_match(match_labels(matcher, nlp("i am not safe with my husband")))[0] == "abuse"
    assert best_match(match_labels(matcher, nlp("he threatened to kill me")))[0] == "abuse"


@pytest.mark.parametrize("text", [
    "hola, ¿puedo pasar mi cita del martes al viernes?",
    "mi abuela murió en marzo y todavía la echo de menos",
    "estoy cansada del trabajo y discuto mucho con mi pareja",
    "bonjour, je voudrais changer mon rendez-vous de jeudi",
    "je prends des médicaments pour dormir, est-ce compatible avec la thérapie ?",
    "ma sœur et moi on ne se parle plus depuis la dispute",
    "Hallo, ich habe eine Frage zur Hausaufgabe von letzter Woche",
    "meine Mutter ist letztes Jahr gestorben und ich vermisse sie",
    "olá, posso mudar a minha consulta para segunda?",
    "brigamos muito em casa e eu fico triste",
    "ciao, vorrei spostare l'appuntamento di giovedì",
    "mio padre è morto l'anno scorso, è normale sentirsi così?",
    "dzień dobry, czy mogę przełożyć wizytę na piątek?",
    "muszę skoczyć do sklepu, napiszę później",
    "merhaba, bugün dersi atlamak zorunda kaldım",
    "saçımı kestim ve çok mutluyum",
    "здравствуйте, можно перенести сессию на пятницу?",
    "привіт, можна перенести зустріч на понеділок?",
    "مرحبا، هل يمكنني تغيير موعد الجلسة؟ اسمي سارة",
    "नमस्ते, क्या मैं अपनी अगली मुलाकात बदल सकता हूँ?",
    "你好，我想改一下下周的预约时间",
])
def test_everyday_messages_in_other_languages_are_no_crisis(text):
    assert language(text) != "en", text
    assert foreign_crisis(text, language(text)) is None, text


@pytest.mark.parametrize("text, category", [
    ("me quiero morir, ya no puedo con esto", "suicide"),
    ("mi pareja me golpeó y no me deja salir de casa", "abuse"),
    ("je n'ai plus envie de vivre, je veux que tout s'arrête", "suicide"),
    ("il m'a enfermée et il a pris mon passeport", "abuse"),
    ("ich habe alle meine Medikamente genommen und mir ist schwindlig", "overdose"),
    ("ich habe mich selbst verletzt und es blutet stark", "medical"),
    ("eu me cortei hoje e não conto pra ninguém", "self_harm"),
    ("eu não quero mais viver, sério", "suicide"),
    ("ho preso tutte le compresse che avevo in casa", "overdose"),
    ("le voci mi dicono di farmi del male", "psychosis"),
    ("kendimi tekrar kestim, kimseye söyleyemiyorum", "self_harm"),
    ("chcę skoczyć z mostu dziś w nocy", "suicide"),
    ("я наглоталась снотворного", "overdose"),
])
def test_crisis_words_in_other_languages_in_new_wordings(text, category):
    assert foreign_crisis(text, language(text)) == category, text


# Languages with keyword lists since session 6: each recognised, a crisis found, an everyday
# message of the same language left alone (our own wording).
@pytest.mark.parametrize("crisis, everyday, lang, category", [
    ("ik wil niet meer leven", "hallo, ik heb een vraag over mijn afspraak van morgen", "nl",
     "suicide"),
    ("tôi muốn chết, tôi không chịu nổi nữa", "tôi muốn đổi lịch hẹn tuần sau", "vi", "suicide"),
    ("gusto ko nang mamatay, pagod na ako", "ako po ay may tanong tungkol sa session ko", "tl",
     "suicide"),
    ("nataka kujiua leo", "mimi nataka kubadilisha siku ya miadi yangu", "sw", "suicide"),
    ("aku mau bunuh diri malam ini", "saya ingin tanya jadwal sesi saya minggu ini", "id",
     "suicide"),
    ("vreau să mor, nu mai pot", "bună, vreau să mut programarea de mâine", "ro", "suicide"),
    ("yaar main ab jeena nahi chahti", "kya main apna session kal kar sakti hoon", "hi_latn",
     "suicide"),
])
def test_more_languages_are_recognised_and_their_crisis_words_found(crisis, everyday, lang,
                                                                     category):
    assert language(crisis) == lang and language(everyday) == lang
    assert foreign_crisis(crisis, lang) == category
    assert foreign_crisis(everyday, lang) is None


@pytest.mark.parametrize("text, lang", [
    ("もう死にたい", "ja"), ("죽고 싶어요", "ko"), ("δεν θέλω να ζω άλλο", "el"),
])
def test_japanese_korean_and_greek_crisis_words(text, lang):
    assert language(text) == lang
    assert foreign_crisis(text, lang) == "suicide"


@pytest.mark.parametrize("text", [
    "i struggle to get close to people", "what do i do between sessions",
    "no future, no hope, no point", "tell me a joke", "i need to cut to calm down",
])
def test_words_english_shares_with_another_language_do_not_make_it_foreign(text):
    assert language(text) == "en"


@pytest.mark.parametrize("text, recovered", [
    ("Five years ago I tried to end my life. Now I'm a peer support worker.", True),
    ("I used to self harm at school, three years clean now", True),
    ("I used to self harm and last night I did it again", False),
    ("years ago I overdosed and I'm going to do it again tonight", False),
    ("i want to end my life", False),
])
def test_a_crisis_told_as_past_and_over_is_recognised(text, recovered):
    from bot.rasa_ext.nlu.crisis_text import recovered_past

    assert recovered_past(text) is recovered
