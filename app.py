"""Launch the newsrag chat on the bundled corpus (see README). `python app.py --help` for options."""

from rag.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", "--corpus", "corpus", *__import__("sys").argv[1:]]))
