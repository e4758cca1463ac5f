from adsdash.cli import entry

entry()
