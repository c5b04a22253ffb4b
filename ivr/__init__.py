"""Persian IVR: the FastAGI server, the call flows and Persian speech (prompts, numbers, dates)."""
