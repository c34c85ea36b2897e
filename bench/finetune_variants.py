"""Fine-tuning variants tried for the full-size tweets target (README "Few labels"), kept so that the numbers there
can be reproduced. Not part of the package: each variant patches `textgru.tasks` for this process only, then runs
`textgru train` with the overrides given; the run folder and its metrics.json are as any training run's.

Usage (after experiment=tweets_bilm; the README's runs add model.pooling=max trainer.max_time=null seed=42):
    python bench/finetune_variants.py VARIANT[=VALUE] experiment=tweets_ulmfit model.pretrained_lm=<biLM run> ...

Variants:
    aux_lm=GAMMA   loss + GAMMA * the biLM's mean forward/backward loss on the batch (SiATL, Chronopoulou et al.
                   2019): the classifier's embedding and GRU read as the LM, the LM's output layer frozen
    l2sp=ALPHA     loss + ALPHA/2 * |w - w_pretrained|^2 over the transferred weights (L2-SP, Li et al. 2018)
    frozen_embedding   the embedding never trains (GRU, pooling and head do)
    distill=W:RUN,RUN  (1 - W) * loss + W * the cross-entropy against the mean probabilities that the classifier runs
                   RUN,... give each training text (knowledge distillation from an ensemble, Hinton et al. 2015;
                   "born-again" when the teachers are runs of this recipe); works with or without a pretrained LM
    confidence=weight|soft   the built-in tweets' annotator confidence c (the CSV's `confidence` column; 1 where
                   empty) used in training: `weight` scales each text's loss by c (the batch's loss divided by the
                   sum of c); `soft` trains against c on the label and (1 - c) shared by the other labels
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from textgru.cli import main
from textgru.models.bilm import BiGRULanguageModel
from textgru.models.transfer import PretrainedLM
from textgru.tasks import finetuning, sentiment

build, step = sentiment.build, sentiment.ClassificationTask._step


def aux_lm(gamma: float) -> None:
    def build_with_lm(cfg: Any) -> Any:
        dm, task = build(cfg)
        lm = PretrainedLM(cfg.model.pretrained_lm)
        bilm = BiGRULanguageModel(**lm.model_args)
        bilm.load_state_dict(lm.state)
        bilm.embedding, bilm.rnn = task.model.embedding, task.model.rnn  # shared with the classifier
        bilm.decoder.requires_grad_(False)
        bilm.train()
        object.__setattr__(task, "aux_lm", bilm)  # not a submodule: not in the checkpoint or the optimizer
        return dm, task

    def step_with_lm(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss = step(self, batch, stage)
        if stage == "train":
            forward_nll, backward_nll, n = self.aux_lm(batch["input_ids"], batch["lengths"])
            lm_loss = (forward_nll + backward_nll) / (2 * n.clamp(min=1))
            self.log("train/lm_loss", lm_loss, on_step=False, on_epoch=True, batch_size=len(batch["labels"]))
            loss = loss + gamma * lm_loss
        return loss

    sentiment.build, sentiment.ClassificationTask._step = build_with_lm, step_with_lm


def l2sp(alpha: float) -> None:
    def build_with_start(cfg: Any) -> Any:
        dm, task = build(cfg)
        named = task.model.named_parameters()
        start = [(p, p.detach().clone()) for n, p in named if n.startswith(("embedding.", "rnn."))]
        object.__setattr__(task, "start_weights", start)
        return dm, task

    def step_with_pull(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss = step(self, batch, stage)
        if stage == "train":
            pull = sum(((p - p0) ** 2).sum() for p, p0 in self.start_weights) * (alpha / 2)
            self.log("train/l2sp", pull, on_step=False, on_epoch=True, batch_size=len(batch["labels"]))
            loss = loss + pull
        return loss

    sentiment.build, sentiment.ClassificationTask._step = build_with_start, step_with_pull


def frozen_embedding() -> None:
    unfreeze = finetuning.unfreeze_for_epoch

    def unfreeze_but_the_embedding(model: Any, epoch: int, recipe: Any, trainer: Any = None) -> None:
        unfreeze(model, epoch, recipe, trainer)
        model.embedding.weight.requires_grad_(False)

    finetuning.unfreeze_for_epoch = unfreeze_but_the_embedding


def distill(weight: float, teachers: list[str]) -> None:
    import textgru
    from textgru.data import batching
    from textgru.data.columns import column_values

    collate = batching.pad_collate

    def build_with_teachers(cfg: Any) -> Any:
        dm, task = build(cfg)
        texts = column_values(dm.raw["train"], "text")
        probs = []
        for run in teachers:
            clf = textgru.load(run)
            if list(clf.label_names) != list(dm.label_names):
                sys.exit(f"error: {run}: labels {clf.label_names}, this run's {dm.label_names}")
            probs.append(clf.predict_proba(texts))
        soft = torch.stack(probs).mean(0)  # (examples, classes)
        examples = dm.examples["train"]

        class WithSoftTargets(type(examples)):
            def __getitem__(self, i: int) -> dict:
                return {**super().__getitem__(i), "soft": soft[i]}

        examples.__class__ = WithSoftTargets
        return dm, task

    def collate_soft(examples: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
        batch = collate(examples, pad_id)
        if "soft" in examples[0]:
            batch["soft"] = torch.stack([e["soft"] for e in examples])
        return batch

    def step_with_teachers(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        if stage != "train":
            return step(self, batch, stage)
        hard = self.loss_fn  # summed over the batch, as the task divides it by the batch's weight

        def mixed(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            soft_sum = -(batch["soft"] * torch.log_softmax(logits, -1)).sum()
            return (1 - weight) * hard(logits, labels) + weight * soft_sum

        self.__dict__["loss_fn"] = mixed  # one forward pass: the task's own step, with the mixed loss
        try:
            return step(self, batch, stage)
        finally:
            del self.__dict__["loss_fn"]

    batching.pad_collate = collate_soft
    sentiment.build, sentiment.ClassificationTask._step = build_with_teachers, step_with_teachers


def tweet_confidences() -> dict[str, float]:
    """Each built-in tweet's annotator confidence, by its stripped text (as `read_tweets` keys them)."""
    import csv
    import io

    from textgru.data.tweets import tweets_path

    rows = csv.DictReader(io.StringIO(tweets_path().read_bytes().decode("utf-8", errors="replace"), newline=""))
    return {r["text"].strip(): float(r["confidence"] or 1) for r in reversed(list(rows))}  # the first row wins


def confidence(mode: str) -> None:
    from textgru.data import batching
    from textgru.data.columns import column_values

    collate = batching.pad_collate

    def build_with_confidence(cfg: Any) -> Any:
        if cfg.data.get("source") != "tweets":
            sys.exit("error: confidence=...: the annotator confidences are the built-in tweets' (data=tweets)")
        dm, task = build(cfg)
        conf = tweet_confidences()
        c = torch.tensor([conf[t] for t in column_values(dm.raw["train"], "text")])  # (examples,)
        examples = dm.examples["train"]

        class WithConfidence(type(examples)):
            def __getitem__(self, i: int) -> dict:
                return {**super().__getitem__(i), "confidence": c[i]}

        examples.__class__ = WithConfidence
        return dm, task

    def collate_confidence(examples: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
        batch = collate(examples, pad_id)
        if "confidence" in examples[0]:
            batch["confidence"] = torch.stack([e["confidence"] for e in examples])
        return batch

    def step_with_confidence(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        if stage != "train":
            return step(self, batch, stage)
        c = batch["confidence"]  # (batch,)

        def weighted(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            logp = torch.log_softmax(logits, -1)  # (batch, classes)
            if mode == "weight":
                nll = -logp.gather(1, labels[:, None]).squeeze(1)
                return (c * nll).sum() * len(c) / c.sum()
            k = logits.shape[-1]
            target = ((1 - c) / (k - 1))[:, None].expand_as(logp).clone()
            target.scatter_(1, labels[:, None], c[:, None])
            return -(target * logp).sum()

        self.__dict__["loss_fn"] = weighted
        try:
            return step(self, batch, stage)
        finally:
            del self.__dict__["loss_fn"]

    batching.pad_collate = collate_confidence
    sentiment.build, sentiment.ClassificationTask._step = build_with_confidence, step_with_confidence


def number(text: str, default: float) -> float:
    """A variant's value as a float, or one line and exit 2."""
    try:
        return float(text) if text else default
    except ValueError:
        sys.exit(f"error: {sys.argv[1]}: {text!r} is not a number")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    variant, _, value = sys.argv[1].partition("=")
    overrides = sys.argv[2:]
    lm_given = any(
        a.startswith(("model.pretrained_lm=", "experiment=tweets_ulmfit")) and not a.endswith("=null")
        for a in overrides
    )
    if variant in ("aux_lm", "frozen_embedding") and not lm_given:  # frozen_embedding: the fine-tuning hook only
        sys.exit(
            f"error: {variant} patches fine-tuning from a biLM; give experiment=tweets_ulmfit or model.pretrained_lm=RUN"
        )
    if variant == "aux_lm":
        aux_lm(number(value, 0.1))
    elif variant == "l2sp":
        l2sp(number(value, 1e-5))
    elif variant == "distill":
        w, _, runs = value.partition(":")
        if not runs or not 0 <= number(w, -1) <= 1:
            sys.exit("error: distill=W:RUN,RUN,...: give a weight W from 0 to 1 and the teachers' run folders")
        distill(number(w, 0.5), runs.split(","))
    elif variant == "frozen_embedding":
        frozen_embedding()
    elif variant == "confidence":
        if value not in ("weight", "soft"):
            sys.exit("error: confidence=weight or confidence=soft")
        confidence(value)
    else:
        sys.exit(
            f"unknown variant {variant!r}; use aux_lm=GAMMA, l2sp=ALPHA, distill=W:RUN,..., confidence=weight|soft or frozen_embedding"
        )
    main(["train", *overrides])
