"""The few words the Telegram service says itself (when Rasa cannot, or must not, be asked).

Everything else the assistant says lives in the domain's responses.
"""

from bot.limits import TOO_LONG  # noqa: F401  (the same answer on every channel)

TEXT_ONLY = (
    "Thank you for sending that. I can only read text messages, so could you tell me in "
    "words instead?"
)
BUTTON_EXPIRED = "That button has expired. Please type your answer instead."
PRIVATE_ONLY = "I only talk in private chats. Please send me a direct message."
CHOOSE = "Please choose one:"
