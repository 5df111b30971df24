"""Knowledge base: articles, versions, categories, search and document upload."""
