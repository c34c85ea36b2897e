"""The ONNX operators textgru's exporter writes, per task, and the check that an exported graph holds no other before
onnxruntime opens it. A model.onnx is data, but its seal (metadata, config digest, SHA-256s) only says its files
belong together: anyone can recompute it. A review sealed a graph with a `Loop` of 2**62 trips: loading it hung in
onnxruntime (deaf to Ctrl-C and SIGTERM), and a variant that loops only on texts of two tokens or more passed the load
check and then pinned `textgru serve`'s batching thread for good. textgru's graphs are straight-line (no `Loop`,
`Scan` or `If`, no subgraph, no local function, only the default domain), so a graph with anything else is not one
textgru wrote.

How `ALLOWED_OPS` was gathered (torch 2.13, onnxscript 0.7.2, onnx 1.23, opset 18): tiny random checkpoints of every
variant were exported with `textgru.export` and their op types collected, subgraphs included: classifiers with
pooling last, mean, max, meanmax and attention, one direction and 2 layers, `rnn=reference`, biLM features
(`model.transfer=features`), `members=2` with and without them; language models with 1 and 2 layers, a projection,
tied weights, `rnn=reference`; forecasters one-way, bidirectional with `predict_change`, 3 layers.
`tests/test_export.py::test_every_op_textgru_exports_is_allowed` exports such models again and fails when the
exporter writes an op missing here (add it here then), rather than refusing users' exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from textgru.errors import TextgruError
from textgru.onnx_format import INSTALL_HINT

_SHAPES = {"Cast", "Concat", "ConstantOfShape", "Gather", "Reshape", "Shape", "Slice", "Squeeze", "Transpose"}
# onnxruntime's dynamic int8 quantization of an export (`quantize_dynamic`, as bench/inference_backends.py makes its
# int8 copy; straight-line ops): the review of this check found that copy refused
_INT8 = {"DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "Mul", "Cast"}
ALLOWED_OPS: dict[str, frozenset[str]] = {
    "sentiment": frozenset(
        _SHAPES
        | _INT8
        | {"Add", "Clip", "Div", "GRU", "GatherND", "Gemm", "Less", "LogSoftmax", "MatMul", "Not", "Range"}
        | {"ReduceLogSumExp", "ReduceMax", "ReduceSum", "Softmax", "Sub", "Unsqueeze", "Where"}
    ),
    "lm": frozenset(_INT8 | {"Add", "Concat", "GRU", "Gather", "MatMul", "Reshape", "Shape", "Slice", "Transpose"}),
    "forecast": frozenset(_SHAPES | _INT8 | {"Add", "Div", "GRU", "Gemm", "Sub", "Unsqueeze"}),
}
DEFAULT_DOMAINS = ("", "ai.onnx")  # the standard operators; textgru's graphs use no other domain


def graph_ops(model: Any) -> Iterator[tuple[str, str]]:
    """(domain, op type) of every node of an `onnx.ModelProto`, in order: its graph's, each node followed by those of
    the subgraphs in its attributes (at any depth: walked with a stack, not recursion), then its local functions'."""
    stack = [iter(f.node) for f in reversed(model.functions)] + [iter(model.graph.node)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node.domain, node.op_type
        subgraphs = [g for a in node.attribute for g in ([a.g] if a.HasField("g") else []) + list(a.graphs)]
        stack.extend(iter(g.node) for g in reversed(subgraphs))


def check_ops(graph: bytes, task: str, where: str) -> None:
    """One line unless the serialized model `graph` holds only the operators textgru exports for `task` (checked with
    the `onnx` package before onnxruntime builds anything from it)."""
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:
        raise TextgruError(f"running an exported model needs onnx: {INSTALL_HINT}") from None
    try:
        model = onnx.load_model_from_string(graph)
    except (DecodeError, ValueError, RecursionError, RuntimeError) as e:  # nesting past protobuf's limit too
        first = (str(e).splitlines() or [type(e).__name__])[0][:120]
        raise TextgruError(
            f"{where!r} is not a readable ONNX model: corrupt or truncated ({first}); export again"
        ) from None
    allowed = ALLOWED_OPS[task]
    if model.functions:  # a node may call one by its name; textgru's graphs define none
        name = f"{model.functions[0].domain}:{model.functions[0].name}"[:80]
        raise TextgruError(
            f"{where!r} defines the ONNX function {name!r}, which textgru's exporter never writes: this export was "
            "not written by textgru; export the checkpoint again (textgru export)"
        )
    if (name := external_tensor(model)) is not None:  # a review: its bytes were read from the caller's folder
        raise TextgruError(
            f"{where!r} keeps its tensor {name[:80]!r} in another file (ONNX external data), which textgru's exporter "
            "never writes (onnxruntime would read it from the current folder): this export was not written by "
            "textgru; export the checkpoint again (textgru export)"
        )
    for domain, op in graph_ops(model):
        if domain not in DEFAULT_DOMAINS or op not in allowed:
            name = f"{domain}:{op}" if domain not in DEFAULT_DOMAINS else op
            raise TextgruError(
                f"{where!r} holds the ONNX operator {name[:80]!r}, which textgru's exporter never writes for a {task} "
                "model: this export was not written by textgru; export the checkpoint again (textgru export)"
            )


def external_tensor(model: Any) -> str | None:
    """The name of the first tensor of an `onnx.ModelProto`'s graph whose values lie in another file (ONNX external
    data: initializers, sparse ones, node attributes), or None. textgru's exports hold every value in model.onnx; a
    graph loaded from bytes has onnxruntime look for such a file in the current folder (a review: a sealed export
    read a `.env` there and gave its bytes back as probabilities). Subgraphs need no walk: no op textgru allows has
    one (`check_ops` refuses it)."""
    from onnx import TensorProto

    def with_sparse(dense: list[Any], sparse: list[Any]) -> list[Any]:
        return dense + [t for s in sparse for t in (s.values, s.indices)]

    tensors = with_sparse(list(model.graph.initializer), list(model.graph.sparse_initializer))
    for node in model.graph.node:
        for a in node.attribute:
            dense = ([a.t] if a.HasField("t") else []) + list(a.tensors)
            tensors += with_sparse(
                dense, ([a.sparse_tensor] if a.HasField("sparse_tensor") else []) + list(a.sparse_tensors)
            )
    found = (t for t in tensors if t.data_location == TensorProto.EXTERNAL or len(t.external_data))
    return next((t.name or "(unnamed)" for t in found), None)
