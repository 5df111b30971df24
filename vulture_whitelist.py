"""Names the framework uses that vulture cannot see: read through the ORM, a serializer's field list or
a dotted path in the settings. Ignored by pattern in pyproject.toml [tool.vulture] otherwise; list here
only what no pattern covers, with the reason. Never list code that nothing calls: delete it instead.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# Named by dotted path in helpdesk/settings (REST_FRAMEWORK, LOGGING, DEFAULT_SCHEMA_CLASS).
_.problem_exception_handler
_.HelpdeskAutoSchema
_.RequestIdLogFilter

# Model fields read and written through the ORM (filters, values(), update(**fields), admin).
_.date_joined  # accounts.User
_.revoked_at  # accounts.RevokedToken
_.published_at  # knowledge.Article
_.archived_at  # knowledge.Article
_.escalated_at  # tickets.Ticket
_.routing_confidence  # tickets.Ticket
_.deleted_by  # tickets.Ticket
_.priority_rank  # tickets.Ticket (ordering)
_.inputs  # ai_assist.Suggestion

# Choices members stored as data (tickets.Priority), read back as values.
_.LOW
_.HIGH
_.URGENT

# Serializer fields declared on the class, read by DRF from the instance or the input.
_.access  # accounts.api.serializers (token pair)
_.suggestion_id  # ai_assist.api.serializers
_.download_url  # helpdesk.api.serializers
_.download_url_expires_at
_.article_count  # knowledge.api.serializers
_.can_edit
_.can_publish
_.can_archive
_.diff
_.title_html
_.snippet_html
_.file  # upload serializers (knowledge documents, ticket attachments)
_.comment_count  # tickets.api.serializers
_.sla_state
_.transitions
_.editable
_.can_write_internal
_.can_assign

# Django admin: the inline formset's lists that ModelAdmin.construct_change_message reads.
_.new_objects
_.changed_objects
_.deleted_objects

# A class's name as Django's and drf-spectacular's error messages and schema show it.
_.__qualname__

# Test hooks: called by the test suite to reset process state, never by the product.
_.reset_client  # ai_assist.index: forget the Chroma client when a test points VAR_DIR elsewhere
_.unsubscribe  # helpdesk.events: the tests' event capture stops listening (the outbox replaces it)
