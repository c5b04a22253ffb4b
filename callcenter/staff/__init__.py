"""Staff: accounts, the login throttle, sessions, and the directory of staff, units and categories."""
