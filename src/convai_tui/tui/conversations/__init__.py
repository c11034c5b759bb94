"""The Conversations pane and its screens: the transcript and the create-test form."""
