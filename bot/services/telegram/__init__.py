"""Telegram channel: python-telegram-bot's Application in front of Rasa's REST channel.

Run it with ``python -m bot.services.telegram``; docs/telegram.md explains the set-up. Importing this
package does no work: the Application is only built by :func:`bot.services.telegram.app.build_application`.
"""
