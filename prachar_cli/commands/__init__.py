"""One module per command; main.py imports a command's module only when that command runs."""
