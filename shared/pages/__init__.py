"""The public HTML pages' common parts: the page language, the shared layout and its words.

Each service renders its own pages (a ``pages`` domain package) through ``PageEnvironment``,
whose templates extend ``base.html.j2`` here: one look, one navigation, one language switch.
"""
