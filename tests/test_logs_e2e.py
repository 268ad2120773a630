"""No message text and no personal data in the logs at INFO and above.

The session's servers (tests/conftest.py) run with IPT_LOG_LEVEL=INFO and Rasa's LOG_LEVEL=INFO
and write everything to log files. This sends a conversation set through them (questions
from the held-out sets, a crisis message, enrolment, a check-in, a homework entry, deletion),
then searches every log for the texts sent and the client's name.
"""

from __future__ import annotations

import secrets

import yaml

from bot.clinic.store import db, services
from tests.helpers import REPO


def _held_out(limit_per_file: int = 12) -> list[str]:
    texts = []
    for name in ("nlu_test_about.yml", "nlu_test_structure.yml", "nlu_test_safety.yml"):
        data = yaml.safe_load((REPO / "tests" / "data" / name).read_text())
        examples = [ln.strip()[2:] for block in data["nlu"]
                    for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
        texts += examples[:: max(1, len(examples) // limit_per_file)][:limit_per_file]
    return texts


def test_no_message_text_or_name_in_any_log(rasa_server, action_server, database_url,
                                            session_dir):
    db.ensure_migrated(database_url)
    marker = secrets.token_hex(4)
    name = f"Quillon {marker}"
    with db.unit_of_work(database_url) as s:
        client, code = services.create_client(s, name, "UTC")
        services.assign_homework(s, client, f"Phone Aunt Verity {marker}")
    sender = f"tg-{secrets.randbelow(10**12)}"
    personal = [
        "/greet",
        f"my code is {code}", "yes",
        "check in", "4", f"my landlord Orvald {marker} shouted at me again", "yes", "yes",
        "log my homework", f"I phoned Verity {marker} on sunday", "it went fine", "7",
        "nothing", "yes",
        "what do you store about me?",
        f"I feel like ending it all {marker}",
        # typed "shortcuts": Rasa's parser would log these whole at WARNING (issue 19)
        f"/my sister Quenby {marker} said no", f'/inform_rating{{"note": "Quenby {marker}"}}',
        f"/{marker}@0.9 Quenby",
        "delete my data", "yes",
    ]
    sent = []
    for text in personal:
        rasa_server.send(sender, text)
        sent.append(text)
    for i, text in enumerate(_held_out()):
        rasa_server.send(f"log-{sender[3:]}-{i % 4}", text)
        sent.append(text)

    logs = {p.name: p.read_text(errors="replace") for p in session_dir.glob("*.log")}
    assert {"rasa.log", "actions.log"} <= set(logs)
    for log_name, text in logs.items():
        assert marker not in text, f"{log_name} contains text from a message or a name"
        assert name not in text and code not in text, log_name
        for message in sent:
            if len(message) >= 12:  # short answers ("yes", "4") occur in any log
                assert message not in text, f"{log_name} contains: {message!r}"
