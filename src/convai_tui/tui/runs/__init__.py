"""Run history screens: the history, one run as it was, two runs compared."""
