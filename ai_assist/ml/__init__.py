"""The AI's pure library: text preparation, embeddings, the router, similar-ticket ranking and
metrics. Nothing here imports Django: the management commands, the API and bench/ all call the
same classes, so what is evaluated is what serves."""
