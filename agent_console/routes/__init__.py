"""The HTTP and websocket routes, one module per resource; ``ROUTERS`` is every router of the app, in one place
(the app factory includes them, and the route × role test walks them)."""

from __future__ import annotations

from agent_console.routes import (
    admin,
    auth,
    calls,
    citizen_forms,
    citizen_home,
    citizen_track,
    complaint_analytics,
    complaint_clusters,
    complaint_follow,
    complaint_form,
    complaint_identity,
    complaint_meeting,
    complaint_summaries,
    console,
    desk,
    inbox,
    inspection,
    inspection_meetings,
    live,
    open311,
    queue,
    reports,
    system,
    tickets,
    verifications,
    wallboard,
)

ROUTERS = tuple(module.router for module in (
    auth, console, queue, calls, tickets, inbox, wallboard, verifications, reports, admin, desk, live, system,
    open311, citizen_home, citizen_forms, citizen_track, complaint_form, complaint_follow, complaint_meeting,
    inspection, inspection_meetings, complaint_identity, complaint_analytics, complaint_clusters,
    complaint_summaries,
))
