"""Pure parsers of the interaction data sets (the HetRec 2011 Last.fm files), shared by the CLI
importer, the trainers and the evaluation.

No I/O beyond reading the files given; imports nothing else of the ranker.
"""
