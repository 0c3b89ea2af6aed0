"""Governance service: license registry, fail-closed corpus policy and license evidence.

Domain modules (no database, no gRPC): `licenses` (registry), `spdx` (expressions),
`policy` (decisions, training-set checks), `evidence` (DEP-5 and naev credits parsers),
`scan` (music files of an unpacked package, with their evidence).
"""
