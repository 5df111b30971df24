"""AI: embeddings, vector index, routing, reply drafts, RAG chat and the suggestion log."""
