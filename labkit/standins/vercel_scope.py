"""Rules the Vercel API emulator applies the same way to every kind of resource: which team
scope a request is in, and how a list is paged."""


def in_scope(owner, query):
    """Whether OWNER (a project or a domain: `teamId`, `teamSlug`) is in the request's scope: an
    account's own without teamId/slug, a team's with its id or its slug."""
    scope_id, scope_slug = query.get("teamId"), query.get("slug")
    if owner["teamId"] is None:
        return not scope_id and not scope_slug
    return scope_id == owner["teamId"] or (scope_slug is not None and scope_slug == owner["teamSlug"])


def page_of(items, until, limit):
    """Vercel's paging of a list, newest first: the items created before UNTIL (ms, or None), at
    most LIMIT of them, and the `pagination` whose `next` is the `until` of the next page."""
    items = sorted(items, key=lambda item: item["createdAt"], reverse=True)
    if until:
        items = [item for item in items if item["createdAt"] < int(until)]
    page, rest = items[:limit], items[limit:]
    return page, {"count": len(page), "next": page[-1]["createdAt"] if rest else None, "prev": None}
