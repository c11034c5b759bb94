"""The Tests pane and its run-detail dialog."""
