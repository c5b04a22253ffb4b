"""Bootstrap: the composition root, the app factory, Asterisk provisioning and the command line."""
