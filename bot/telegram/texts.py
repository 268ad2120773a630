"""The few words the Telegram service says itself (when Rasa cannot, or must not, be asked).

Everything else the assistant says lives in the domain's responses.
"""

TROUBLE = "I'm having trouble right now, please try again in a minute."
TOO_LONG = (
    "That message is too long for me to read in one go. Could you send it in a shorter "
    "message, under {limit} characters?"
)
TEXT_ONLY = (
    "Thank you for sending that. I can only read text messages, so could you tell me in "
    "words instead?"
)
BUTTON_EXPIRED = "That button has expired. Please type your answer instead."
PRIVATE_ONLY = "I only talk in private chats. Please send me a direct message."
CHOOSE = "Please choose one:"
