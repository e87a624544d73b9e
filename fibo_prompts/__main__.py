"""``python -m fibo_prompts`` runs the ``fibo`` command line."""

from fibo_prompts.cli import main

if __name__ == "__main__":
    main()
