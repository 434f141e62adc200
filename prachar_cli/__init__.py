"""`prachar`: the volunteers' command line — check content offline, upload it, see what became of it."""
