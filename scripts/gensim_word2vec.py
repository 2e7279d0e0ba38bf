#!/usr/bin/env python3
"""The gensim peer of `polytag vectors train` for `scripts/bench --vectors`: trains
gensim.models.Word2Vec on a text file (one sentence a line) and prints one JSON line with the
training time (vocabulary building and file writing excluded, as for polytag's figure), the
corpus tokens as read, and words/s = tokens x epochs / training seconds."""
import argparse
import json
import sys
import time

from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

p = argparse.ArgumentParser()
p.add_argument("text")
p.add_argument("--out", required=True)
p.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
p.add_argument("--dim", type=int, default=100)
p.add_argument("--window", type=int, default=5)
p.add_argument("--negative", type=int, default=5)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--min-count", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

sentences = LineSentence(a.text)
model = Word2Vec(vector_size=a.dim, window=a.window, negative=a.negative, hs=0, sample=1e-3,
                 min_count=a.min_count, workers=a.threads, sg=int(a.model == "skipgram"),
                 seed=a.seed, epochs=a.epochs)
model.build_vocab(sentences)
start = time.perf_counter()
model.train(sentences, total_examples=model.corpus_count, epochs=a.epochs)
seconds = time.perf_counter() - start
model.wv.save_word2vec_format(a.out)
tokens = model.corpus_total_words
print(json.dumps({"tokens": tokens, "epochs": a.epochs, "train_seconds": round(seconds, 3),
                  "words_per_s": round(tokens * a.epochs / seconds), "vectors": len(model.wv)}))
