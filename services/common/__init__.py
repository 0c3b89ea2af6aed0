"""Shared plumbing for every Juke service: settings, database, gRPC server, errors, telemetry.

Written once and imported by services; services never import each other.
"""
