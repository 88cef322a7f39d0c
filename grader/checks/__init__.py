"""Hidden checks, one module per notebook: test_<assignment>.py. Never shipped to students."""
