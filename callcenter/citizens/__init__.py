"""The citizens' own channels: the public web site's filing, SMS codes, public timelines, online verification."""
