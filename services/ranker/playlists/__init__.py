"""Playlists: storage-side domain (JSPF and MPD formats, names, the playlist service) and
playlist scoring (immutable profiles keyed by a content hash, continuation through the
serving fast path, the fit of tracks to playlists with persisted matches).

May import core, serving, personal (the radio's artist limiter), store and registry; the pure
modules (jspf, mpd, names, moods, profile, fit, continuation) import nothing of the ranker
but core and each other.
"""
