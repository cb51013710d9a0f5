"""Tables of the auth layer (users arrive with the login issue)."""
