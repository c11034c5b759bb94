"""Generic widgets, not tied to one pane: virtual table, transcript view, run grid, diff view, dialogs."""
