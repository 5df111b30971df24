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
_.RedactSecretsFilter  # LOGGING
_.TextFormatter  # LOGGING (LOG_FORMAT)
_.JsonFormatter
_.more  # a LogRecord attribute TextFormatter's format string reads
_.init_sentry  # called by the settings when SENTRY_DSN is set

# gunicorn reads these names from helpdesk/gunicorn_conf.py (`--config=python:helpdesk.gunicorn_conf`).
_.worker_class
_.accesslog
_.on_starting
_.child_exit
_.post_worker_init
_.worker_exit
_.manage  # helpdesk.startup.manage, called by manage.py
_.FailSoftRedisCache  # CACHES
_.csrf_failure  # CSRF_FAILURE_VIEW
_.PasswordBackend  # AUTHENTICATION_BACKENDS (accounts.sso)
_.company_sign_in  # TEMPLATES' context_processors (accounts.sso_views)

# Django's cache API, overridden by helpdesk.cache.FailSoftRedisCache: called by whoever uses the cache.
_.touch
_.has_key
_.set_many
_.delete_many

# Hooks read by frameworks: django-filter's filter field class, a LogRecord's message (its formatter),
# a DRF renderer's charset (ai_assist.api.chat_views.EventStreamRenderer).
_.field_class
_.msg
_.charset

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
_.revision  # knowledge.Article (the outbox's counter, named by Article.event_sequence)
_.delivered_at  # helpdesk.OutboxEvent, helpdesk.OutboxDelivery
_.next_attempt_at  # helpdesk.OutboxEvent
_.claimed_until  # helpdesk.OutboxEvent
_.claimed_by  # helpdesk.OutboxEvent
_.last_error  # helpdesk.OutboxEvent
_.last_runner  # helpdesk.JobRun

# Fields of domain events (helpdesk.events): written by the publishers, read through
# dataclasses.fields (Event.to_data: the outbox row, the audit entry's details) and by the consumers.
_.previous_status
_.comment_id
_.file_name
_.reverted_to
_.previous_role
_.department_name

# django-filter: a declared filter, read by the FilterSet's metaclass.
_.until  # audit.api.views.AuditFilter

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
_.exported_at  # accounts.api.personal_data.PersonalDataOut (the export document's key)

# Django admin: the inline formset's lists that ModelAdmin.construct_change_message reads.
_.new_objects
_.changed_objects
_.deleted_objects

# A class's name as Django's and drf-spectacular's error messages and schema show it.
_.__qualname__

# Test hooks: called by the test suite to reset process state, never by the product.
_.reset  # ai_assist.retrieval: forget the Chroma client, snapshots and ranker when a test points VAR_DIR elsewhere
_.unregister  # helpdesk.dispatch: a test's own consumer stops listening

# Notifications (issue 13): Channels calls a consumer's handlers by the type of a channel-layer message
# ("feed.ticket" -> feed_ticket) and its disconnect hook; channels.security's OriginValidator calls valid_origin.
_.feed_ticket
_.feed_notification
_.feed_account
_.disconnect
_.valid_origin
# ... fields read through the ORM, DRF and django-filter (notifications.models, api).
_.ticket_title  # Notification, NotificationOut.ticket (source)
_.read_at  # Notification, NotificationOut
_.sent_at  # OutgoingEmail (filters, admin)
_.assigned  # EmailPreferences, its serializers (Kind.ASSIGNED)
_.unread  # notifications.api.views.NotificationFilter
_.unread_notifications  # accounts.api.serializers.MeOut (SerializerMethodField)

# AI agent tools and review (ai_assist.api.agent_serializers): response fields DRF reads from dicts
# built by ai_assist.selectors.suggestion_stats, and a review's department (ORM, admin inline).
_.corrected_department  # ai_assist.SuggestionFeedback, ReviewOut
_.accepted
_.edited
_.rejected
_.acceptance_rate
_.edit_rate
_.mean_edit_distance
_.latency_p50_ms
_.latency_p95_ms
_.accuracy
_.deflected
_.deflection_rate
_.chatbot

# onnxruntime.SessionOptions and onnx.ModelProto fields the libraries read (ai_assist/ml/embed_onnx.py, onnx_export.py).
_.intra_op_num_threads
_.inter_op_num_threads
_.log_severity_level
_.ir_version

# The second factor (decision 0032): response fields DRF reads from dicts built by accounts.two_factor,
# the admin login form's field, and the admin site Django loads by its dotted path (HelpdeskAdminConfig).
_.mfa_required  # accounts.api.two_factor.ChallengeOut
_.enrolment_required
_.expires_in
_.otpauth_uri  # EnrolOut
_.period
_.algorithm
_.recovery_codes  # RecoveryCodesOut
_.enrolled  # StatusOut
_.recovery_codes_left
_.enrolled_at
_.otp_token  # accounts.admin_site.SecondFactorLoginForm
_.HelpdeskAdminSite  # helpdesk.mongo_apps: default_site
_.login_form
_.login_template
_.default_site
# intake.models.InboundMessage: the admin lists it and Meta.ordering sorts by it (named as strings).
_.received_at
# SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] names them as strings (intake.openapi, accounts.sso_openapi).
_.add_paths
# ai_assist.retrieval.chroma.read_all: no search reads a collection whole any more; bench/ai_scale.py does, to
# build its synthetic world, and tests/ai_assist/test_index.py checks its paging.
_.read_all
