"""``python -m edge_landmarks`` (and ``torchrun -m edge_landmarks train ...``): the edge-lmk command line."""

from .cli import main

if __name__ == "__main__":
    main()
