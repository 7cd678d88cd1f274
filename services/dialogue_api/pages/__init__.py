"""Public HTML pages of the dialogue: the events calendar (``shared.pages`` holds the layout
profiles' pages share)."""
