"""Personalisation: listening events, user history, taste profiles, radio, daily mixes, taste
analysis and personal recommendations.

May import core, serving, store and registry.
"""
