"""Verification: tasks for tickets reported done, and the dialer that calls citizens to verify them."""
