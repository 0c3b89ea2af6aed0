"""The ranker's model registry: activation, known-good marking, rollback and history of every
ranker model kind (weight configs, co-occurrence, CF and reranker models) over the shared
registry in services.common.

May import store and core; never serving, personal, training or api, which import it.
"""
