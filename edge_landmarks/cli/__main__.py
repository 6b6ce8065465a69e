"""``python -m edge_landmarks.cli`` (as before the command line became a package; ``python -m edge_landmarks`` too)."""

from . import main

if __name__ == "__main__":
    main()
