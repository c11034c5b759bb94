"""The Simulation pane and its dialogs: scenario editor, A/B picker."""
