"""The port for the admin pages' changes to Asterisk's files and prompts, which only the telephony process makes.

pjsip.conf and the prompts live beside the Asterisk that the telephony process drives; a web-only worker may run
on another host, or with another state folder, and must not write them. The composition root hands the admin
routes the implementation for their process: the one doing it in place (the "all" or telephony process), or a
web-only worker's, which sends the command over the AMI relay (callcenter/telephony/ami_relay.py).
"""

from __future__ import annotations

from typing import Protocol

# The relayed commands' names (their allowed forms: callcenter/telephony/ami_allowlist.py).
APPLY_PHONE_CHANGES = "ApplyPhoneChanges"
RENDER_UNIT_NAME_PROMPT = "RenderUnitNamePrompt"


class AsteriskProvisioner(Protocol):
    """Brings what Asterisk reads up to date after an admin change. Neither raises: False means the change could
    not be applied now and applies when Asterisk is next provisioned (the page says so)."""

    async def apply_phone_changes(self) -> bool:
        """pjsip.conf re-rendered from the staff table, then PJSIP reloaded; after a phone was added or
        (de)activated."""
        ...

    async def render_unit_name_prompt(self, unit_name: str) -> bool:
        """The spoken name of a unit added at run time, for the IVR's status readback."""
        ...
