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
    complaint_summaries,
    complaint_follow,
    complaint_clusters,
    complaint_identity,
    complaint_meeting,
    complaint_analytics,
    complaint_form,
    console,
    desk,
    inbox,
    inspection_meetings,
    inspection,
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
    open311, citizen_home, citizen_forms, citizen_track, complaint_summaries,
    open311, citizen_home, citizen_forms, citizen_track, complaint_follow,
    open311, citizen_home, citizen_forms, citizen_track, complaint_clusters,
    open311, citizen_home, citizen_forms, citizen_track, complaint_identity,
    open311, citizen_home, citizen_forms, citizen_track, complaint_meeting, inspection_meetings,
    open311, citizen_home, citizen_forms, citizen_track, complaint_analytics,
    open311, citizen_home, citizen_forms, citizen_track, complaint_form,
    open311, citizen_home, citizen_forms, citizen_track, inspection,
))
