"""`python -m generator` is the same as the `sutrabuild` command."""

from generator.cli import main

if __name__ == "__main__":
    main()
