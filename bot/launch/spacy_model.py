"""Build the offline spaCy pipeline the NLU uses.

usage: python -m bot.launch.spacy_model OUTPUT_DIR

A blank English pipeline with spaCy's rule-based tokenizer and the lookup lemmatizer,
its tables taken from the spacy-lookups-data package already installed in the venv.
Nothing is downloaded, at build time or when Rasa loads it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def build(output: Path) -> Path:
    """Create the pipeline and save it to ``output``."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "ipt_offline"
    nlp.meta["description"] = "Blank English pipeline with lookup lemmatizer (offline)"
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return output


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = build(Path(args[0]))
    print(f"spaCy pipeline saved to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
