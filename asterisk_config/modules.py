"""The Asterisk modules we load (modules.conf has autoload off): each one with what of ours needs it (ADR 0081)."""

from __future__ import annotations

# Grouped by the part of the system that needs them. A module missing here breaks calls at run time, not at
# boot: tests/integration/test_asterisk_modules.py boots Asterisk with exactly this list and checks that every
# application and function our dialplan and code use is registered, and the call tests exercise them.
MODULES: dict[str, str] = {
    # The dialplan (extensions.conf) and the applications it runs.
    "pbx_config.so": "reads extensions.conf",
    "app_stack.so": "GosubIf/Return (withholding an anonymous caller's ID)",
    "app_dial.so": "Dial: staff phones, transfers to a supervisor, verification calls",
    "app_queue.so": "Queue, the QUEUE_* functions the IVR reads, AMI QueueAdd/Remove/Pause/Status",
    "app_playback.so": "Playback of «all lines busy»",
    "app_userevent.so": "UserEvent: lines busy, verification call outcomes",
    "app_mixmonitor.so": "MixMonitor: call recording",
    "app_chanspy.so": "ChanSpy: a supervisor's listen, whisper and barge (AMI Originate)",
    "func_channel.so": "CHANNEL(language), CHANNEL(linkedid)",
    "func_callerid.so": "CALLERID(all), CALLERID(pres)",
    "func_lock.so": "LOCK/UNLOCK around counting the lines",
    "func_groupcount.so": "GROUP and GROUP_COUNT: lines in use",
    "func_logic.so": "IF in the transfer fallback",
    "func_devstate.so": "DEVICE_STATE: which operators are free (IVR)",
    "res_mutestream.so": "MUTEAUDIO: putting a citizen on hold (AMI Setvar)",
    # FastAGI, our IVR.
    "res_agi.so": "AGI() to our FastAGI server",
    "res_speech.so": "required by res_agi",
    # Queue music and timing for it, the prompts, the recordings.
    "res_musiconhold.so": "queue music (musiconhold.conf)",
    "res_timing_timerfd.so": "timing source for music on hold, playback and mixing",
    "format_wav.so": "prompts, hold music, recordings and voice messages are 8 kHz WAV",
    "format_gsm.so": "Asterisk's stock sounds (the beep before a voice message)",
    "format_pcm.so": "raw ulaw/alaw files",
    "codec_ulaw.so": "the trunk and phones speak ulaw or alaw",
    "codec_alaw.so": "the trunk and phones speak ulaw or alaw",
    "codec_a_mu.so": "alaw to ulaw without going through linear",
    "codec_gsm.so": "decodes the stock GSM sounds",
    "bridge_simple.so": "two-party calls (operator and citizen)",
    "bridge_native_rtp.so": "two-party calls whose media needs no mixing",
    # PJSIP: the citizens' trunk, the outbound trunk and the staff phones (pjsip.conf).
    "res_pjproject.so": "PJSIP's library",
    "res_sorcery_config.so": "PJSIP objects from pjsip.conf",
    "res_sorcery_memory.so": "PJSIP's in-memory objects (contacts)",
    "res_sorcery_astdb.so": "PJSIP's registered contacts, kept across restarts",
    "res_pjsip.so": "SIP stack",
    "res_pjsip_session.so": "SIP calls",
    "res_pjsip_pubsub.so": "required by chan_pjsip",
    "chan_pjsip.so": "PJSIP channels",
    "res_pjsip_authenticator_digest.so": "staff phones authenticate (md5_cred)",
    "res_pjsip_endpoint_identifier_user.so": "phones identified by username (endpoint_identifier_order)",
    "res_pjsip_endpoint_identifier_ip.so": "the citizens' trunk identified by its address",
    "res_pjsip_registrar.so": "staff phones register",
    "res_pjsip_sdp_rtp.so": "audio in SDP offers and answers",
    "res_rtp_asterisk.so": "RTP (rtp.conf's port range)",
    "res_pjsip_nat.so": "force_rport and rtp_symmetric",
    "res_pjsip_caller_id.so": "caller ID in From; send_pai/send_rpid/trust_id_outbound on staff phones",
    "res_pjsip_dlg_options.so": "answers OPTIONS inside a call (keep-alives of phones and trunks)",
    "res_pjsip_rfc3326.so": "the Reason header (hang-up causes) both ways",
    "res_pjsip_logger.so": "`pjsip set logger on` when on-call needs to see the SIP messages",
}


def module_names() -> list[str]:
    return list(MODULES)
