"""Configuration, pipeline construction, running and the command line of article-enrich."""
