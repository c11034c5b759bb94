"""The Prompt pane and its screens: versions, diff, push conflict, restore draft."""
