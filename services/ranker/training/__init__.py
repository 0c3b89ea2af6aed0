"""Training of co-occurrence (PMI) and CF models, locally or on Spark, and the data sources they
read.

May import core, datasets, store and registry; never serving or api.
"""
