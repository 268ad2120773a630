"""The web side: our web server (demo page, widget, session ids, socket.io proxy) and the
signed socket.io channel Rasa loads from credentials.yml. Importing it does no work."""
