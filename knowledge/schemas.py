"""Elements embedded in an article document: the metadata of its source file, built and checked
by helpdesk.files.attachment_element with the article's extra `role` field ("source")."""
