"""Training of co-occurrence (PMI) and CF models, locally or on Spark, the data sources they
read, and the registration of trained rerankers.

May import core, datasets, store and registry; never serving or api.
"""
