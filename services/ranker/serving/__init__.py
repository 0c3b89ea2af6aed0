"""Serving recommendations from the active model bundle, its result cache and model health.

May import core, store and registry; reaches other services only through the ports it is given.
"""
