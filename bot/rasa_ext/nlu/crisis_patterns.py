"""The deterministic crisis patterns and the spaCy Matcher built from them. No Rasa imports.

Each pattern is a short line in a tiny notation, one token per space-separated item:

- ``a|b``      the token's NORM is one of these (NORM maps "n't"/"nt" to "not", "ca" to "can")
- ``@a|b``     the token's LEMMA is one of these ("killed" -> "kill", "pills" -> "pill")
- ``/re/``     the token's lower-case text matches this regular expression (typos, slang)
- ``*``        any one token, optional (so ``* *`` allows a gap of up to two words)
- ``x?``       the item ``x`` is optional
- ``{NAME}``   a shared item from ``MACROS`` (typo-tolerant spellings of key words)

spaCy 3.4's Matcher has no FUZZY operator, so typos are covered by the regular expressions
in ``MACROS`` and by explicit misspellings. A false alarm is acceptable; a miss is not, so the
patterns lean wide. Categories are checked in ``PRIORITY`` order: an overdose or a person who
cannot breathe needs the emergency number before anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.clinic.crisis_categories import PRIORITY

MACROS = {
    "KILL": r"/^k+i+l+(l|ed|ing|in|s)*$/",
    "SELF": r"/^((my|mi|me|ma|mai)?s+[ea]*l+[fv]+e?|my?sle?f|myslef|mysef|myelf|self)$/",
    "SUICIDE": r"/^(s[uoi]{1,2}[cs]{1,2}[iy]?[dt](e|es|al|ally|ial)|suicid\w*|sucid\w*|suicde\w*)$/",
    "DIE": r"/^(d+[iy]+e+d?|dying|dieing|dyin|ded|dead)$/",
    "WANT": r"/^(w[ao]n+a|wan+t+(ed|ing|s)?|wnt|wamt|wish(ed|ing)?|need|ready|going|gon|plan(ning|ned)?|deserve|trying|try|thinking|tempted|about)$/",
    "PERSON": (
        "husband|wife|partner|boyfriend|girlfriend|bf|gf|boss|mum|mom|mother|dad|father|"
        "stepdad|stepmum|stepmom|stepfather|stepmother|brother|sister|son|daughter|kid|kids|"
        "baby|child|children|neighbour|neighbor|ex|family|roommate|flatmate|friend|uncle|aunt|"
        "grandpa|grandad|grandfather|cousin|teacher|coach|coworker|colleague|landlord|parents|"
        "parent|step|carer|guardian|fiance|fiancé|spouse|others|manager|supervisor|stepfather|"
        "stepbrother|stepsister|housemate|classmate|bully"
    ),
    "PILLS": (
        "@pill|tablet|med|meds|medication|medicine|paracetamol|acetaminophen|tylenol|"
        "ibuprofen|aspirin|painkiller|antidepressant|sleeping|insulin|lithium|oxy|xanax|"
        "benzo|benzos|opioid|opioids|panadol|capsule"
    ),
    "QUANT": (
        "all|whole|every|many|much|lots|lot|bunch|handful|box|packet|bottle|load|extra|"
        "double|entire|pack|strip|months|month|week|weeks|/^\\d{2,}$/|twenty|thirty|forty|fifty"
    ),
}

# (category, id, pattern). Ids name the idea, for logs and docs; never the user's words.
PATTERNS: tuple[tuple[str, str, str], ...] = (
    # --- suicidal thoughts or plans ---
    ("suicide", "kill_self", "{KILL} * {SELF}"),
    ("suicide", "kill_self_one_word", r"/^k+i+l+my?s+e+l+[fv]+e?$/"),
    ("suicide", "kms", r"/^(kms|kys|ctb|kmsss+)$/"),
    ("suicide", "suicide_word", "{SUICIDE}"),
    ("suicide", "unalive", r"/^(un-?alive|unalived|unaliving|sewerslide|sewer-slide)$/"),
    ("suicide", "un_alive", "un - alive"),
    ("suicide", "self_delete", "self -? @delete|deleting|deleted"),
    ("suicide", "end_life", "@end|ending|ended|take|taking|took my|own own? life|lives|existence"),
    ("suicide", "end_it_all", "@end|ending it all"),
    ("suicide", "end_it_now", "@end|ending it tonight|now|today|forever|soon|here|already"),
    ("suicide", "want_end_it", "{WANT} to|na? * @end|ending it|everything"),
    ("suicide", "end_everything", "@end|ending everything"),
    ("suicide", "end_it", "to|should|just|gonna|will|'ll|might|could|na @end|ending it"),
    ("suicide", "want_die", "{WANT} to|na? * {DIE}"),
    ("suicide", "want_to_be_dead", "{WANT} to|na? be dead"),
    ("suicide", "feel_like_dying", "@feel like {DIE}"),
    ("suicide", "rather_dead", "rather|better|happier * * dead"),
    ("suicide", "wish_dead", "wish * * * dead|gone"),
    ("suicide", "wish_not_born", "wish * * never * born"),
    ("suicide", "wish_not_alive", "wish * * not|nt alive|here|exist|existed|born"),
    ("suicide", "not_born", "never been born"),
    ("suicide", "no_point_living", "no|not|any|nt point|reason|purpose * * living|live|life|alive|existing|exist|on|anymore"),
    ("suicide", "point_of_living", "point of|in living|existing|life"),
    ("suicide", "point_being_alive", "point|reason * * * * alive|living|existing"),
    ("suicide", "worth_living", "worth living|livin|being alive|staying alive"),
    ("suicide", "life_not_worth", "life * not|nt worth"),
    ("suicide", "life_pointless", "life * pointless|meaningless|hopeless|over"),
    ("suicide", "nothing_to_live_for", "nothing * @live for"),
    ("suicide", "not_want_live", "not * {WANT} to|na? live|exist|be|wake|continue|carry|survive|go|keep"),
    ("suicide", "not_want_alive", "not * {WANT} to|na? * alive|here|around|living"),
    ("suicide", "better_without_me", "better|happier|easier off? without me"),
    ("suicide", "if_i_was_gone", "if i was|were|am|m|'m * * gone|dead|here|around|alive"),
    ("suicide", "if_i_died", "if i @die|disappear|vanish|died|disappeared"),
    ("suicide", "when_im_dead", "when|after i * dead|gone|die"),
    ("suicide", "nobody_miss_me", "nobody|noone * * miss me"),
    ("suicide", "no_one_miss_me", "no one * * miss me"),
    ("suicide", "no_one_care_if", "no|nobody one? * @care|notice|matter if|when i"),
    ("suicide", "cant_go_on", "can|could not * go|keep|carry on|going|living"),
    ("suicide", "cant_take_anymore", "can|could not * take|do|handle|cope|stand|bear * * anymore|longer"),
    ("suicide", "tired_of_living", "tired|sick|done|exhausted|weary|finished * of|with living|life|existing|breathing"),
    ("suicide", "tired_of_being_alive", "tired|sick|done|exhausted|weary * of|with being alive|here"),
    ("suicide", "give_up_life", "@give up * on? life|living"),
    ("suicide", "jump_off", "@jump|throw off|from|in * * bridge|building|roof|cliff|balcony|tower|window|train|motorway|river|car|bus"),
    ("suicide", "in_front_of", "@jump|step|walk|run|throw|lie|lay * in front of a|the? train|bus|car|truck|lorry|traffic|tube"),
    ("suicide", "hang_self", "@hang {SELF}"),
    ("plan", "noose", "@noose"),
    ("suicide", "never_wake_up", "never wake up"),
    ("suicide", "hope_not_wake", "{WANT}|hope|pray * * * not|never wake up"),
    ("suicide", "sleep_forever", "sleep forever"),
    ("plan", "goodbye_note", "@goodbye|suicide note|letter|letters|notes|video"),
    ("plan", "final_goodbye", "final|last goodbye|goodbyes|words"),
    ("plan", "say_goodbyes", "say|saying|said my goodbyes"),
    ("suicide", "goodbye_forever", "goodbye|bye forever"),
    ("suicide", "disappear_forever", "disappear|gone|vanish forever|permanently"),
    ("suicide", "stop_existing", "stop|cease * existing|exist|breathing"),
    ("suicide", "off_myself", "off {SELF}"),
    ("plan", "plan_overdose", "{WANT} to|na? * overdose|od"),
    ("suicide", "want_it_over", "{WANT} it * to? end|stop|over"),
    ("suicide", "want_it_be_over", "{WANT} it * to be over"),
    ("suicide", "want_everything_end", "{WANT} everything|all * to? end|stop|over"),
    ("plan", "give_away_things", "@give away all? my|everything"),
    ("suicide", "not_be_here", "not be here|around * anymore|tomorrow|much|long|soon"),
    ("suicide", "gun_to_head", "gun|pistol to my head"),
    ("suicide", "bought_rope", "@buy|get|have|got|tie|tied * rope|noose|gun|pistol|charcoal"),
    ("suicide", "hopeless_helpless", "no way out|hope"),
    ("suicide", "burden", "just|such a burden"),
    ("suicide", "last_message", "my|this last message|words|goodbye"),
    ("suicide", "sleep_not_wake", "sleep and * not|never wake"),
    ("suicide", "nothing_left_to_live", "nothing * * @live for"),
    ("suicide", "ways_to_die", "way|ways|how|method|methods|best|easiest|quickest|painless|take to {DIE}"),
    ("suicide", "painless_death", "painless|quick|quickest|easiest|quiet|peaceful way|death|exit"),
    ("suicide", "end_things", "@end|ending things|myself|me"),
    ("suicide", "want_stop_living", "{WANT} to|na? stop living|existing|breathing|being"),
    ("suicide", "on_the_edge", "@stand|sit|standing|sitting * on|at the? edge|ledge|bridge|roof|rooftop|cliff|tracks|railway"),
    ("suicide", "goodbye_everyone", "goodbye|goodbyes to everyone|everybody|all|family|world|you"),
    ("suicide", "wrote_note", "@write|leave|left|wrote * note|notes|letter|letters for|to my|everyone|family"),
    ("suicide", "want_out", "want|wanna|wan|need|wnt out"),
    ("suicide", "i_end_it", "i @end|ending it"),
    ("suicide", "not_around_longer", "be|being around|here * * longer"),
    ("suicide", "point_going_on", "point of|in going|carrying|keep on|going"),
    # --- plans and preparations ---
    ("plan", "wrote_will", "@write|make|finish|update * * my? will|note|notes|letters"),
    # "sort" only with its object right after: "what sort of things will we do" is a question
    ("plan", "sorted_will", "@sort out? my|the will|affairs"),
    ("plan", "bought_means", "@buy|get|order|collect|save|stockpile|hoard|hide * * * rope|noose|charcoal|gun|pills|tablets|blades|ladder|poison|helium"),
    ("plan", "picked_date", "@pick|choose|set|decide * * date|day|time|night|place|spot"),
    ("plan", "tonight_the_night", "tonight|today * the night|day"),
    ("plan", "last_day", "my last day|night|week|message|text|goodbye"),
    ("plan", "how_to_die", "how|ways|way|quickest|easiest|painless|painlessly * * * {DIE}|{KILL}|overdose|hang"),
    ("plan", "how_many_to_die", "how many|much * * * {DIE}|lethal|fatal|kill"),
    ("plan", "lethal_dose", "lethal|fatal|deadly dose|amount|overdose"),
    # --- someone worried about another person ---
    ("worried_other", "they_kill_self", "@kill|hurt|harm|cut|hang|end|off himself|herself|themselves|themself|hisself"),
    ("worried_other", "they_end_life", "@end|take his|her|their own? life"),
    ("worried_other", "they_suicidal", "he|she|they|{PERSON} * * is|'s|are|'re|was|seems|been|sounds * suicidal"),
    ("worried_other", "they_want_die", "he|she|they|{PERSON} * @say|tell|text|post|write|keep * * * {WANT} to|na? {DIE}"),
    ("worried_other", "they_took_pills", "he|she|they|{PERSON} * * @take|swallow|overdose * * {QUANT}|too * * * {PILLS}"),
    ("worried_other", "they_overdosed", "he|she|they|{PERSON} * @overdose|od|od'd"),
    ("worried_other", "they_wont_wake", "he|she|they|{PERSON} * * not|wont|won't * wake|respond|breathing"),
    # --- eating-disorder emergencies ---
    ("eating", "not_eaten_days", "not|n't|nt|nothing * @eat|eaten|ate * * in|for * /^(\\d+|two|three|four|five|six|seven|several|many|days|weeks)$/ days|weeks"),
    ("eating", "purge_blood", "@purge|vomit|throw|puke * * * blood"),
    ("eating", "purging_times", "@purge|vomit|throw|puke * up? * * times|all day|after every"),
    ("eating", "laxatives", "@laxative|diuretic|laxatives|diuretics"),
    ("eating", "starve_self", "@starve {SELF}"),
    ("eating", "heart_weird_not_eating", "heart * * racing|skipping|fluttering|pounding|weird|slow * * eat|eating|eaten|purge|purging|fasting|starving"),
    # --- psychosis-like commands ---
    ("psychosis", "voices_tell", "voice|voices|they|god|devil|demon|demons|angel|spirits|radio|tv * * @tell|command|order|say|want|force|make * me to|that? * * * {KILL}|hurt|harm|die|jump|cut|do|end|burn|punish"),
    ("psychosis", "voices_commanding", "voice|voices * @command|order|demand|scream|insist"),
    ("psychosis", "hear_voices_kill", "@hear voices|voice * * * {KILL}|die|hurt|harm"),
    ("psychosis", "being_watched_must", "chip|chips|implant|implants|transmitter * * in my * head|brain|body|skin|arm"),
    # --- self-harm ---
    ("self_harm", "harm_self", "@cut|slice|slit|carve|burn|scratch|hurt|harm|hit|punch|bash|injure|starve|bite|scar|bleed|stab|punish|mutilate {SELF}"),
    ("self_harm", "harm_self_gap", "@cut|slice|slit|carve|burn|scratch|hurt|harm|injure|punish * {SELF}"),
    ("self_harm", "cut_body", "@cut|slit|slice|slash|carve|scratch|burn * * wrist|wrists|arm|arms|leg|legs|thigh|thighs|skin|stomach"),
    ("self_harm", "self_harm_word", r"/^(self-?harm\w*|selfharm\w*|self-?injur\w*|self-?mutilat\w*|sh'?ing)$/"),
    ("self_harm", "self_harm_two", "self -? harm|harming|harmed|injury|injure|injuring|hurt|hurting|mutilation|mutilate|destruct|destructive"),
    ("self_harm", "cutting", "been|started|start|keep|stop|back|relapse|relapsed|urge|urges * cutting|cut"),
    ("self_harm", "cutting_again", "cutting|sh again"),
    ("self_harm", "relapse_sh", "@relapse|clean|urge * sh|cutting|harm"),
    ("self_harm", "blades", r"/^(razors?|blades?|razorblades?|boxcutters?|box-cutters?|lighters?)$/ on|to|into * me|my|myself|skin|arm|arms|wrist|wrists"),
    ("self_harm", "razor_blade", "razor blade|blades"),
    ("self_harm", "make_bleed", "make|made|making {SELF} bleed|bleeding"),
    ("self_harm", "deserve_pain", "deserve|deserved * * pain|hurt|punished|suffer|suffering|pain"),
    ("self_harm", "want_to_cut", "{WANT} to|na? cut|cutting|burn|harm|bleed"),
    ("self_harm", "feel_pain", "need|want|have|wanna to? feel pain"),
    ("self_harm", "got_blade", "@have|get|got|hold|holding|grab|grabbed a|the|my? blade|razor|blades|razors"),
    ("self_harm", "bang_head", "@bang|hit|smash|slam my head"),
    ("self_harm", "hurt_body", "@hurt|harm|punish|cut|burn|damage|hurting my body|skin"),
    # --- harm to someone else ---
    ("harm_others", "kill_someone", "{KILL} him|her|them|someone|somebody|everyone|everybody|people|you|u|ya|y'all|anyone|anybody"),
    ("harm_others", "kill_person", "{KILL} my|the|that|this|his|her|our|their * {PERSON}"),
    ("harm_others", "hurt_someone", "@hurt|harm|stab|shoot|strangle|choke|beat|punch|attack|poison|smother|drown|shake|murder|kick|slap|hit|batter|burn him|her|them|someone|somebody|people|others|everyone|anyone|anybody"),
    ("harm_others", "hurt_person", "@hurt|harm|stab|shoot|strangle|choke|beat|punch|attack|poison|smother|drown|shake|murder|kick|slap|hit|batter|burn my|the|that|this|his|her|our * {PERSON}"),
    ("harm_others", "homicidal", r"/^(homicidal\w*|murderous)$/"),
    ("harm_others", "murder", "@murder|massacre|shooting|stabbing someone|somebody|people|him|her|them|everyone"),
        ("harm_others", "get_weapon", "@get|buy|bring|take|grab * gun|knife|weapon|rifle * to|and * @use|hurt|kill|shoot|stab"),
    ("harm_others", "make_them_pay", "make them|him|her pay"),
    ("harm_others", "urge_to_hurt", "urge|urges|impulse|impulses|thoughts|thought of|to|about @hurt|harm|kill|hurting|harming|killing|stabbing|strangling|drowning"),
    ("harm_others", "use_on", "@use it|this|that|them|a|the * on him|her|them|someone|somebody|my|people"),
    ("harm_others", "attack_place", "@shoot|bomb|attack|burn|blow * up? the|my|our|their|his|her|a * school|office|work|house|place|church|mosque|synagogue|building|class|home"),
    # --- abuse or violence at home ---
    ("abuse", "strong_verb_me", "@punch|kick|slap|choke|strangle|rape|molest|abuse|assault|grope|batter|smack|whip|shove|threaten|stalk|throttle|headbutt|strangle|suffocate me|us"),
    ("abuse", "subject_hurts_person", "he|she|they|{PERSON} * * @hit|beat|hurt|kick|slap|punch|choke|strangle|abuse|molest|rape|touch|threaten|attack my|the|our|his|her * {PERSON}"),
    ("abuse", "hit_me", "@hit|beat|hurt|kick|burn|drag|bite|spit me|us"),
    ("abuse", "subject_verb_me", "he|she|they|{PERSON} * * @hit|beat|hurt|push|touch|burn|grab|lock|kick|slap|punch|choke|rape|abuse|threaten|attack|force * me|us"),
    # weak: "she's killing me with her chewing", "my boss yelled at me"
    ("abuse", "subject_kill_me", "he|she|they|{PERSON} * * @throw|yell|scream|kill * me|us"),
    ("abuse", "kill_me", r"/^k+i+l+(l|ed|s)*$/ me|us"),
    ("abuse", "abuse_word", r"/^(abus(e|ed|es|ing|ive|er|ers)|rap(e|ed|ist|ing)|molest\w*|incest|assault(ed)?|battered|beaten|trafficked|trafficking|pedo\w*|paedo\w*)$/"),
    ("abuse", "domestic_violence", "domestic|family|sexual|physical|emotional * violence|abuse|assault"),
    ("abuse", "afraid_of_person", "afraid|scared|terrified|frightened|fear|petrified * of my? * {PERSON}"),
    ("abuse", "afraid_of_him", "afraid|scared|terrified|frightened|fear|petrified * of * him|her|them"),
    ("abuse", "afraid_go_home", "afraid|scared|terrified|frightened|fear|dread * to|of * go|going|be home|home"),
    ("abuse", "not_safe_home", "not|nt|never safe * at|in my? home|house"),
    ("abuse", "unsafe_home", "unsafe at|in my? home|house"),
    ("abuse", "not_safe", "not|nt * safe * with|around|near * him|her|them|my|{PERSON}"),
    ("abuse", "unsafe_with", "unsafe|danger with|around|near * him|her|them|my|{PERSON}"),
    ("abuse", "wont_let_leave", "not * let me leave|eat|sleep"),
    ("abuse", "wont_let_see", "not * let me see"),
    ("abuse", "locks_in", "@lock me|us in|out|up|inside"),
    ("abuse", "bruises", "@hide|cover|leave|give|left * bruise|bruises|marks|scars"),
    ("abuse", "touches_me", "@touch * me * where|there|night|private|inappropriately|wrong|down"),
    ("abuse", "touches_me_adult", "{PERSON} * @touch me"),
    ("abuse", "hurt_by", "@hurt|beat|hit|abuse|attack|rape|touch by my|a|an|him|her|them|{PERSON}"),
    ("abuse", "threat_to_kill", "@threaten * to? {KILL}|hurt|harm"),
    ("abuse", "not_feel_safe_home", "not|nt|never * safe * at|in my? home|house"),
    ("abuse", "bruises_from", "bruise|bruises|marks|injuries|cuts from|by him|her|them|my|he|she"),
    ("abuse", "hurt_by_someone", "@hurt|beat|hit|abuse|attack|rape|touch by someone|somebody"),
    ("abuse", "afraid_what_he_does", "afraid|scared|terrified|frightened of what he|she|they|he'll|she'll"),
    # --- acute medical emergency ---
    ("overdose", "took_pills_quant", "@take|swallow|pop|down|drink|eat|take * {QUANT} * * * {PILLS}"),
    ("overdose", "took_pills_many", "@take|swallow|pop|down too many|much|lot * * {PILLS}"),
    ("overdose", "took_number_pills", r"/^(took|taken|swallowed|popped|downed)$/ * /^([5-9]|\d{2,})$/ * {PILLS}"),
    # weak: "I take 8 different pills a day"
    ("overdose", "take_number_pills", r"take|taking|swallow|pop * /^([5-9]|\d{2,})$/ * {PILLS}"),
    ("overdose", "overdose_word", r"/^(overdos(e|ed|es|ing)|od'?d|od'?ed|o\.d\.?|oded|ods|overdoze\w*|ovrdose\w*)$/"),
    ("overdose", "overdose_od", "i|just|have|already|'ve od"),
    ("medical", "cant_breathe", "not|hardly|barely|struggling|struggle|trouble|difficulty|unable|cannot * breathe|breathing|breath|breth|breath"),
    ("medical", "stopped_breathing", "@stop|not breathing"),
    ("medical", "chest_pain", "chest pain|pains|hurts|tight|tightness|crushing"),
    ("medical", "heart_attack", "heart attack"),
    ("medical", "stroke_seizure", r"/^(stroke|seizure|seizures|seizing|fitting|anaphylaxis|anaphylactic|unconscious|unresponsive)$/"),
    ("medical", "passed_out", "passed|pass|passing out"),
    ("medical", "collapsed", "i|he|she|they|{PERSON} @collapse|faint|collapsed|fainted"),
    ("medical", "bleeding", "bleeding|bleed * a|so|too? lot|heavily|badly|much|everywhere|loads"),
    ("medical", "bleeding_wont_stop", "bleeding|blood * not stop|stopping"),
    ("medical", "lot_of_blood", "lot|lots|so|much|pool|loads of? * blood"),
    ("overdose", "poison", "@drink|drank|swallow|eat|take|inject * * bleach|poison|antifreeze|weedkiller|rat|pesticide|cleaner|detergent"),
    ("overdose", "poisoned", "@poison {SELF}|me"),
    ("overdose", "poisoned_word", r"/^(poisoned|poisoning)$/"),
    ("medical", "wont_wake", "will|can not wake up|him|her|them|respond|responding"),
    ("medical", "allergic", "allergic reaction"),
    ("medical", "choking", r"/^cho(c)?king$/"),
    ("medical", "ambulance", "@need|call|get * ambulance|paramedic|paramedics|911|999|112|000"),
    ("medical", "emergency", "this is|'s an? emergency"),
    ("overdose", "took_pills_quant_long", "@take|swallow|pop|down {QUANT} of * * * {PILLS}"),
    ("overdose", "mixed_with_alcohol", "@mix|take|took|swallow * * {PILLS} * with|and * * * alcohol|vodka|wine|beer|booze|whisky|whiskey|gin|rum"),
    ("medical", "chest_hurts", "chest * hurts|hurting|pain|pains|tight|crushing|agony"),
    ("medical", "throat_closing", "throat * closing|swelling|swollen|closed|closes"),
    ("overdose", "poisonous", "@drink|drank|swallow|eat|take|inject * * * poisonous|toxic"),
)

# Patterns that also fire on everyday talk: a word that names the topic ("an essay on
# suicide", "substance abuse"), an idiom ("I could kill him", "I'm going to die of shame"),
# a symptom with harmless causes. The detector takes these only as far as the learned layer
# agrees; every other pattern is unmistakable and makes a message certain on its own.
WEAK_PATTERNS = frozenset(["subject_kill_me", "wont_let_see", "take_number_pills", "give_away_things", "wrote_note", "picked_date", "suicide_word", "overdose_word", "overdose_od", "abuse_word", "self_harm_two", "self_harm_word", "want_die", "kill_me", "hurt_someone", "hurt_person", "kill_person", "kill_someone", "i_end_it", "end_it", "end_things", "end_it_now", "want_end_it", "goodbye_forever", "final_goodbye", "hurt_by", "hurt_by_someone", "cant_breathe", "stroke_seizure", "hit_me", "if_i_was_gone", "if_i_died", "not_want_live", "not_want_alive", "domestic_violence", "murder", "poisonous", "poisoned_word", "choking", "emergency", "ambulance", "bleeding", "lot_of_blood", "cant_go_on", "cant_take_anymore", "tired_of_living", "disappear_forever", "stop_existing", "point_of_living", "no_point_living", "rather_dead", "wish_dead", "afraid_of_person", "afraid_of_him", "afraid_go_home", "not_safe", "unsafe_with", "deserve_pain", "feel_pain", "urge_to_hurt", "use_on", "homicidal", "chest_pain", "passed_out", "collapsed", "heart_attack", "life_pointless"])

# Age: a person who says they are under 18 (for the young people's resources; not a crisis).
AGE_PATTERNS: tuple[str, ...] = (
    r"i * /^(am|m|'m|be)$/ * /^(1[0-7]|[5-9]|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eleven|ten|nine)$/",
    r"/^(1[0-7])$/ years|yrs|yo|year old?",
    r"/^(1[0-7])yo$/",
    r"under 18|eighteen|age",
    r"@minor|underage|teenager|teen",
    r"in|at high|secondary|middle school",
    r"in year|grade /^([6-9]|1[0-2])$/",
)

# A match is dropped when the next word shows an everyday meaning ("cutting back on coffee",
# "beat him at chess"). Kept short: every entry here is a chance to miss a real crisis.
NOT_FOLLOWED_BY = {
    "cutting": {"back", "down", "out", "off", "corners", "costs", "ties", "edge"},
    "cutting_again": {"back", "down", "out", "off"},
    "hurt_someone": {"at"},
    "want_to_cut": {"back", "down", "out", "off", "ties", "corners", "costs", "the", "a", "some"},
    "cant_go_on": {"indefinitely", "holiday", "vacation", "leave"},
    "want_out": {"of"},
    "end_things": {"with"},
}

_REGEX = re.compile(r"^/(.+)/(\?)?$")


_CHOICE = re.compile(r"/(?:[^/\\]|\\.)+/|[^|]+")


def _expand(pattern: str) -> list[str]:
    """The items of a pattern with every ``{NAME}`` replaced, also inside alternatives."""
    out: list[str] = []
    for item in pattern.split():
        whole = re.fullmatch(r"\{(\w+)\}(\??)", item)
        if whole:
            out.append(MACROS[whole.group(1)] + whole.group(2))
            continue
        # inside an alternative a macro adds its choices (a lemma macro's "@" is dropped:
        # the item's own "@", if any, decides how all its choices are compared)
        out.append(re.sub(r"\{(\w+)\}", lambda m: MACROS[m.group(1)].lstrip("@"), item))
    return out


def _choices(body: str) -> list[str]:
    """Split ``a|/re|gex/|b`` on the bars that are not inside a regular expression."""
    return _CHOICE.findall(body)


def _token(item: str) -> dict[str, Any]:
    """One Matcher token dict from one item of the notation."""
    if item == "*":
        return {"OP": "?"}
    regex = _REGEX.match(item)
    if regex and len(_choices(item.rstrip("?"))) == 1:
        token: dict[str, Any] = {"LOWER": {"REGEX": regex.group(1)}}
        if regex.group(2):
            token["OP"] = "?"
        return token
    optional = item.endswith("?") and len(item) > 1 and not item.endswith("\\?")
    body = item[:-1] if optional else item
    lemma = body.startswith("@")
    choices = _choices(body[1:] if lemma else body)
    regexes = [c[1:-1] for c in choices if c.startswith("/") and c.endswith("/")]
    plain = [c for c in choices if not (c.startswith("/") and c.endswith("/"))]
    attribute = "LEMMA" if lemma else "NORM"
    if regexes:
        alternatives = "|".join(re.escape(p) for p in plain)
        joined = "|".join(f"(?:{r})" for r in regexes)
        # NORM has no regex of its own worth trusting ("n't" -> "not"): plain text then
        attribute = "LEMMA" if lemma else "LOWER"
        token = {attribute: {"REGEX": f"^(?:{alternatives})$|{joined}" if alternatives else joined}}
    else:
        token = {attribute: {"IN": plain}}
    if optional:
        token["OP"] = "?"
    return token


def compile_pattern(pattern: str) -> list[dict[str, Any]]:
    """The Matcher token list for one pattern line."""
    return [_token(item) for item in _expand(pattern)]


def build_matcher(vocab: Any, patterns: Iterable[tuple[str, str, str]] = PATTERNS) -> Any:
    """A spaCy Matcher with every crisis pattern, keyed ``category:id``; plus ``age:*``."""
    from spacy.matcher import Matcher

    matcher = Matcher(vocab)
    for category, pattern_id, pattern in patterns:
        matcher.add(f"{category}:{pattern_id}", [compile_pattern(pattern)])
    for i, pattern in enumerate(AGE_PATTERNS):
        matcher.add(f"age:{i}", [compile_pattern(pattern)])
    return matcher


def match_labels(matcher: Any, doc: Any) -> list[str]:
    """The ``category:id`` labels of every pattern that matches ``doc``, filters applied."""
    labels = []
    for match_id, _start, end in matcher(doc):
        label = doc.vocab.strings[match_id]
        blocked = NOT_FOLLOWED_BY.get(label.partition(":")[2])
        if blocked and end < len(doc) and doc[end].lower_ in blocked:
            continue
        labels.append(label)
    return labels


def best_match(labels: Iterable[str]) -> tuple[str, str] | None:
    """The (category, pattern id) that should answer, by ``PRIORITY``; None if no crisis."""
    found = []
    for label in labels:
        category, _, pattern_id = label.partition(":")
        if category in PRIORITY:
            found.append((PRIORITY[category], category, pattern_id))
    if not found:
        return None
    _, category, pattern_id = min(found)
    return category, pattern_id
