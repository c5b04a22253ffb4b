"""Telephony: the AMI bridge and relay, call and agent tracking, Asterisk actions, recordings, sandbox."""
