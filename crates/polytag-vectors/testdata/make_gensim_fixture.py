"""Writes gensim-tiny.txt and gensim-tiny.bin with gensim's own writer (KeyedVectors
.save_word2vec_format). Run once with gensim installed (scripts/bench --vectors sets up
target/gensim-venv); the outputs are committed and polytag's writers must reproduce them
byte for byte (tests in src/vectors.rs)."""
import sys
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
kv = KeyedVectors(vector_size=3)
kv.add_vectors(
    ["the", "Köln", "x1"],
    np.array(
        [[0.1, -1.0, 1e-05], [3.0, 1.2345679, -0.0001], [1e16, -2.5e-07, 0.0]],
        dtype=np.float32,
    ),
)
kv.save_word2vec_format(str(out / "gensim-tiny.txt"), binary=False)
kv.save_word2vec_format(str(out / "gensim-tiny.bin"), binary=True)
