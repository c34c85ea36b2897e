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
                   empty) used in training, the task's label smoothing kept: `weight` scales each text's loss by c
                   (the batch's loss divided by the sum of c); `soft` trains against c on the label and (1 - c) shared by the other labels (37 texts have c < 1/3)
    elmo=DROPOUT   feature-based transfer (ELMo, Peters et al. 2018) instead of fine-tuning: the biLM stays frozen and
                   its embedding and both GRU directions' states, [e; h_fwd; h_bwd] per token (dropout DROPOUT, 0.5),
                   join the input of a classifier trained from scratch (its own embedding from GloVe, its own BiGRU);
                   elmo=DROPOUT:both: and its output (before pooling) too. Now the package's
                   `model.transfer=features` (the same model, its modules made in another order: other random starts)
    adversarial=EPS   adversarial training (Miyato et al. 2017): loss + the loss of the same batch with each text's
                   GRU input (embedding, and the frozen LM's features where `model.transfer=features`) moved by
                   EPS x its own norm in the direction of the loss's gradient, per text (the L2 norm over its tokens)
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


PER_TEXT: set[str] = set()  # what attach_to_training_texts gave each training example besides its ids and label


def attach_to_training_texts(dm: Any, name: str, values: torch.Tensor) -> None:
    """Each training example also carries `values[i]` as `name`, and the training batches stack them as `name`."""
    from textgru.data import batching

    examples = dm.examples["train"]

    class WithValue(type(examples)):
        def __getitem__(self, i: int) -> dict:
            return {**super().__getitem__(i), name: values[i]}

    examples.__class__ = WithValue
    if not PER_TEXT:
        collate = batching.pad_collate

        def collate_per_text(examples: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
            batch = collate(examples, pad_id)
            for key in PER_TEXT & examples[0].keys():
                batch[key] = torch.stack([e[key] for e in examples])
            return batch

        batching.pad_collate = collate_per_text
    PER_TEXT.add(name)


def step_with_loss(task: Any, batch: dict[str, torch.Tensor], stage: str, loss_fn: Any) -> torch.Tensor:
    """The task's own step (one forward pass) with `loss_fn(logits, labels)` in place of its loss, which it sums
    over the batch, in training."""
    if stage != "train":
        return step(task, batch, stage)
    task.__dict__["loss_fn"] = loss_fn
    try:
        return step(task, batch, stage)
    finally:
        del task.__dict__["loss_fn"]


def distill(weight: float, teachers: list[str]) -> None:
    import textgru
    from textgru.data.columns import column_values

    def build_with_teachers(cfg: Any) -> Any:
        dm, task = build(cfg)
        texts = column_values(dm.raw["train"], "text")
        probs = []
        for run in teachers:
            clf = textgru.load(run)
            if list(clf.label_names) != list(dm.label_names):
                sys.exit(f"error: {run}: labels {clf.label_names}, this run's {dm.label_names}")
            probs.append(clf.predict_proba(texts))
        attach_to_training_texts(dm, "soft", torch.stack(probs).mean(0))  # (examples, classes)
        return dm, task

    def step_with_teachers(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        hard = self.loss_fn

        def mixed(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            soft_sum = -(batch["soft"] * torch.log_softmax(logits, -1)).sum()
            return (1 - weight) * hard(logits, labels) + weight * soft_sum

        return step_with_loss(self, batch, stage, mixed)

    sentiment.build, sentiment.ClassificationTask._step = build_with_teachers, step_with_teachers


def tweet_confidences() -> dict[str, float]:
    """Each built-in tweet's annotator confidence, by its stripped text (as `read_tweets` keys them)."""
    import csv
    import io

    from textgru.data.tweets import tweets_path

    rows = csv.DictReader(io.StringIO(tweets_path().read_bytes().decode("utf-8", errors="replace"), newline=""))
    return {r["text"].strip(): float(r["confidence"] or 1) for r in reversed(list(rows))}  # the first row wins


def confidence(mode: str) -> None:
    from textgru.data.columns import column_values

    def build_with_confidence(cfg: Any) -> Any:
        if cfg.data.get("source") != "tweets":
            sys.exit("error: confidence=...: the annotator confidences are the built-in tweets' (data=tweets)")
        dm, task = build(cfg)
        if task.loss_fn.weight is not None:
            sys.exit("error: confidence=...: weights the loss per text; give task.class_weights=null")
        conf = tweet_confidences()
        attach_to_training_texts(
            dm, "confidence", torch.tensor([conf[t] for t in column_values(dm.raw["train"], "text")])
        )
        return dm, task

    def step_with_confidence(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        c, smoothing = batch.get("confidence"), self.loss_fn.label_smoothing  # (batch,); the task's, kept

        def weighted(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            if mode == "weight":
                nll = torch.nn.functional.cross_entropy(logits, labels, reduction="none", label_smoothing=smoothing)
                return (c * nll).sum() * len(c) / c.sum()
            k = logits.shape[-1]
            target = ((1 - c) / (k - 1))[:, None].expand_as(logits).clone()  # (batch, classes)
            target.scatter_(1, labels[:, None], c[:, None])
            target = (1 - smoothing) * target + smoothing / k  # as cross_entropy's label_smoothing does
            return -(target * torch.log_softmax(logits, -1)).sum()

        return step_with_loss(self, batch, stage, weighted)

    sentiment.build, sentiment.ClassificationTask._step = build_with_confidence, step_with_confidence


class WithFrozenFeatures(torch.nn.Module):
    """`forward(input_ids) -> [own embedding; the frozen biLM's embedding and GRU states]` per token (right-padded
    ids, lengths counted from the padding); the biLM's parts are held outside the module tree, so that nothing
    unfreezes, trains or saves them."""

    def __init__(self, own: torch.nn.Embedding, lm_embedding: torch.nn.Module, lm_rnn: Any, dropout: float) -> None:
        super().__init__()
        self.own, self.padding_idx, self.feature_dropout = own, own.padding_idx, torch.nn.Dropout(dropout)
        object.__setattr__(self, "lm", (lm_embedding.requires_grad_(False).eval(), lm_rnn.requires_grad_(False).eval()))
        self.output_size = own.embedding_dim + lm_embedding.embedding_dim + lm_rnn.output_size

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        embedding, rnn = self.lm
        with torch.no_grad():
            lengths = (input_ids != self.padding_idx).sum(1).clamp(min=1)  # (batch,)
            e = embedding(input_ids)  # (batch, time, lm embedding)
            features = torch.cat([e, rnn(e, lengths)], -1)  # (batch, time, lm embedding + 2*hidden)
        return torch.cat([self.own(input_ids), self.feature_dropout(features)], -1)


class WithInputTail(torch.nn.Module):
    """A BiGRU whose output per token is followed by the last `tail` features of its input (layer groups as the
    BiGRU's)."""

    def __init__(self, rnn: Any, tail: int) -> None:
        super().__init__()
        self.inner, self.tail = rnn, tail
        self.output_size, self.num_layers = rnn.output_size + tail, rnn.num_layers
        self.forward_layers, self.backward_layers = rnn.forward_layers, rnn.backward_layers

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.inner(x, lengths), x[..., -self.tail :]], -1)  # (batch, time, 2*hidden + tail)


def elmo(dropout: float, both: bool = False) -> None:
    import copy

    from torch.optim.swa_utils import AveragedModel

    from textgru.models.bigru import BiGRU
    from textgru.models.glove import init_from_glove
    from textgru.models.pooling import Pooling

    def build_with_features(cfg: Any) -> Any:
        dm, task = build(cfg)  # the LM's tokenizer; the model's embedding and GRU are the LM's
        m = task.model
        own = torch.nn.Embedding(m.embedding.num_embeddings, m.embedding.embedding_dim, padding_idx=dm.pad_id)
        init_from_glove(own, dm.tokenizer)  # as a classifier from scratch starts
        m.embedding = WithFrozenFeatures(own, copy.deepcopy(m.embedding), copy.deepcopy(m.rnn), dropout)
        m.rnn = BiGRU(m.embedding.output_size, m.rnn.hidden_size, m.rnn.num_layers, bidirectional=True)
        if both:  # the features join the GRU's output too (ELMo's "input and output" placement)
            m.rnn = WithInputTail(m.rnn, m.embedding.output_size - own.embedding_dim)
            m.pool = Pooling(m.pool.kind, m.rnn.output_size, bidirectional=True)
            m.head = torch.nn.Linear(m.pool.output_size, m.head.out_features)
        if task.ema is not None:  # the weight average the task evaluates, of the model as it is now
            task.ema = AveragedModel(m, avg_fn=task.ema.avg_fn).requires_grad_(False)
        return dm, task

    sentiment.build = build_with_features


class InputPerturbation:
    """Forward pre-hook on a classifier's `embedding_dropout` (the GRU's input, once per member): in "capture" mode
    it keeps each input for a gradient, in "perturb" mode it adds the next of `shifts`."""

    def __init__(self) -> None:
        self.mode: str | None = None
        self.inputs: list[torch.Tensor] = []
        self.shifts: list[torch.Tensor] = []

    def __call__(self, module: Any, args: tuple[torch.Tensor]) -> tuple[torch.Tensor] | None:
        if self.mode == "capture":
            self.inputs.append(args[0])
        elif self.mode == "perturb":
            return (args[0] + self.shifts.pop(0),)
        return None


def adversarial(eps: float) -> None:
    def build_with_hook(cfg: Any) -> Any:
        dm, task = build(cfg)
        hook = InputPerturbation()
        task.model.embedding_dropout.register_forward_pre_hook(hook)
        object.__setattr__(task, "perturbation", hook)
        return dm, task

    def step_with_adversary(self: Any, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        if stage != "train":
            return step(self, batch, stage)
        hook, labels, rng = self.perturbation, batch["labels"], torch.get_rng_state()
        hook.mode, hook.inputs = "capture", []
        try:
            loss = step(self, batch, stage)
        finally:
            hook.mode = None
        grads = torch.autograd.grad(loss, hook.inputs, retain_graph=True)
        shifts = []
        for x, g in zip(hook.inputs, grads, strict=True):  # (batch, time, inputs) each
            scale = eps * x.detach().flatten(1).norm(dim=1) / g.flatten(1).norm(dim=1).clamp(min=1e-12)  # (batch,)
            shifts.append(g * scale[:, None, None])
        hook.mode, hook.shifts = "perturb", shifts
        torch.set_rng_state(rng)  # the same word dropout and dropout masks: the shift is adversarial to this function
        try:
            each = self.model.member_logits(batch["input_ids"], batch["lengths"])  # (members, batch, classes)
        finally:
            hook.mode = None
        weight = labels.new_tensor(len(labels), dtype=torch.float)
        if self.class_weight is not None:
            weight = self.class_weight[labels].sum()
        adv = sum(self.loss_fn(m, labels) for m in each) / weight
        self.log("train/adv_loss", adv / len(each), on_step=False, on_epoch=True, batch_size=len(labels))
        return loss + adv

    sentiment.build, sentiment.ClassificationTask._step = build_with_hook, step_with_adversary


def number(text: str, default: float) -> float:
    """A variant's value as a float, or one line and exit 2."""
    try:
        return float(text) if text else default
    except ValueError:
        sys.exit(f"error: {sys.argv[1]}: {text!r} is not a number")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    variant, _, value = sys.argv[1].partition("=")
    overrides = sys.argv[2:]
    lm_given = any(
        a.startswith(("model.pretrained_lm=", "experiment=tweets_ulmfit")) and not a.endswith("=null")
        for a in overrides
    )
    if (
        variant in ("aux_lm", "frozen_embedding", "elmo") and not lm_given
    ):  # frozen_embedding: the fine-tuning hook only
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
    elif variant == "elmo":
        rate, _, where = value.partition(":")
        if where not in ("", "both"):
            sys.exit("error: elmo=DROPOUT or elmo=DROPOUT:both (the features at the GRU's output too)")
        elmo(number(rate, 0.5), both=where == "both")
    elif variant == "adversarial":
        adversarial(number(value, 0.02))
    elif variant == "confidence":
        if value not in ("weight", "soft"):
            sys.exit("error: confidence=weight or confidence=soft")
        confidence(value)
    else:
        sys.exit(
            f"unknown variant {variant!r}; use aux_lm=GAMMA, l2sp=ALPHA, distill=W:RUN,..., confidence=weight|soft, elmo=DROPOUT, adversarial=EPS or frozen_embedding"
        )
    main(["train", *overrides])
