"""gRPC edges of the ranker: the servicer (proto <-> domain) and the clients of identity,
governance and the embedder.

May import every ranker package and the generated protos; only the composition roots import it.
"""
