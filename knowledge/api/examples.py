"""OpenAPI examples of the knowledge-base API (what the docs show, and what README's curl sends)."""

from drf_spectacular.utils import OpenApiExample

_ID = "6746c0a1b2c3d4e5f6a7b8c9"
_CATEGORY = {"id": "6746bf10b2c3d4e5f6a7b801", "name": "Network and VPN", "slug": "network-and-vpn"}
_LEAD = {"id": "6745a1c2e4b0a1b2c3d4e5f8", "name": "Lee Network Lead"}
_BODY = (
    "Visitors join the **Guest** Wi-Fi network.\n\n"
    "1. Ask reception for today's guest password.\n"
    "2. Connect to `Guest` and accept the terms.\n\n"
    "The password changes every morning at 06:00."
)
_ROW = {
    "id": _ID,
    "title": "Guest Wi-Fi for visitors",
    "slug": "guest-wi-fi-for-visitors",
    "summary": "How visitors get on the guest Wi-Fi.",
    "category": _CATEGORY,
    "tags": ["wi-fi", "guests"],
    "visibility": "everyone",
    "status": "published",
    "author": _LEAD,
    "version": 4,
    "published_at": "2026-11-25T10:05:00Z",
    "created_at": "2026-11-25T09:30:00Z",
    "updated_at": "2026-11-25T10:05:00Z",
}
_ARTICLE = {
    **_ROW,
    "body": _BODY,
    "change_note": "Reverted to version 2.",
    "attachments": [],
    "actions": {"can_edit": True, "can_publish": False, "can_archive": True},
}

CATEGORY_OUT = OpenApiExample(
    "A category",
    response_only=True,
    value={
        **_CATEGORY,
        "parent": None,
        "description": "VPN, Wi-Fi, the office network and remote access.",
        "article_count": 7,
        "created_at": "2026-11-20T08:00:00Z",
        "updated_at": "2026-11-20T08:00:00Z",
    },
)
CATEGORY_IN = OpenApiExample(
    "Create a category",
    request_only=True,
    value={"name": "Network and VPN", "description": "VPN, Wi-Fi, the office network and remote access."},
)
CATEGORY_PATCH_IN = OpenApiExample("Rename", request_only=True, value={"name": "Network, VPN and Wi-Fi"})
ARTICLE_LIST_ITEM = OpenApiExample("An article in the list", response_only=True, value=_ROW)
ARTICLE_OUT = OpenApiExample("An article", response_only=True, value=_ARTICLE)
ARTICLE_IN = OpenApiExample(
    "Write a draft",
    request_only=True,
    value={
        "title": "Guest Wi-Fi for visitors",
        "summary": "How visitors get on the guest Wi-Fi.",
        "body": _BODY,
        "category": _CATEGORY["id"],
        "tags": ["wi-fi", "guests"],
        "visibility": "everyone",
    },
)
ARTICLE_PATCH_IN = OpenApiExample(
    "Edit the body",
    request_only=True,
    value={"version": 1, "body": _BODY, "change_note": "Password changes daily."},
)
REVERT_IN = OpenApiExample("Revert to version 2", request_only=True, value={"version": 2})
_VERSION_ROW = {
    "number": 3,
    "title": "Guest Wi-Fi for visitors and contractors",
    "visibility": "everyone",
    "author": _LEAD,
    "change_note": "Contractors too.",
    "created_at": "2026-11-25T09:50:00Z",
    "published_at": "2026-11-25T10:05:00Z",
    "changed": ["title"],
}
VERSION_PAGE = OpenApiExample(
    "History", response_only=True, value={"count": 1, "next": None, "previous": None, "results": [_VERSION_ROW]}
)
VERSION_OUT = OpenApiExample(
    "A version with its diff",
    response_only=True,
    value={
        "number": 3,
        "title": "Guest Wi-Fi for visitors and contractors",
        "summary": "How visitors get on the guest Wi-Fi.",
        "body": _BODY,
        "category": _CATEGORY,
        "tags": ["wi-fi", "guests"],
        "visibility": "everyone",
        "author": _LEAD,
        "change_note": "Contractors too.",
        "created_at": "2026-11-25T09:50:00Z",
        "published_at": "2026-11-25T10:05:00Z",
        "diff": {
            "previous": 2,
            "changed": ["title"],
            "fields": {"title": {"from": "Guest Wi-Fi for visitors", "to": "Guest Wi-Fi for visitors and contractors"}},
            "body": "",
        },
    },
)
SEARCH_HIT = OpenApiExample(
    "A search hit",
    response_only=True,
    value={
        "id": _ID,
        "title": "Guest Wi-Fi for visitors",
        "slug": "guest-wi-fi-for-visitors",
        "summary": "How visitors get on the guest Wi-Fi.",
        "category": _CATEGORY,
        "tags": ["wi-fi", "guests"],
        "visibility": "everyone",
        "status": "published",
        "published_at": "2026-11-25T10:05:00Z",
        "updated_at": "2026-11-25T10:05:00Z",
        "score": 2.131,
        "all_words": True,
        "title_html": "<mark>Guest</mark> <mark>Wi</mark>-<mark>Fi</mark> for visitors",
        "snippet_html": "Ask reception for today's <mark>guest</mark> <mark>password</mark>. Connect to Guest …",
    },
)
TAG_OUT = OpenApiExample("A tag", response_only=True, value={"tag": "vpn", "count": 12})
