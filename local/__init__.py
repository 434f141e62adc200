"""The embedded local stack: AWS emulator, platform sandbox and the event pump. Never deployed."""
