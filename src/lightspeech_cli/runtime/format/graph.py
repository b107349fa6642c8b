"""Rewriting a folder's ONNX graph so that it reads its weights from the safetensors file
beside it, and undoing that for tools that need the weights inside. Needs the `onnx`
package (the builders' extras), never torch; the runtime only reads what it records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...paths import atomic_write
from .weights import GRAPH_SOURCE_KEY, WEIGHTS_LAYOUT_KEY, section_digest, weights_header, weights_layout

if TYPE_CHECKING:
    import onnx


def read_weights_beside(onnx_path: Path, weights_path: Path, made_from: dict | None = None) -> None:
    """Rewrite the exported ONNX graph at `onnx_path` to read its weights from the
    safetensors file beside it instead of holding a second copy: the copy would double what
    every install downloads and what every shipped version adds to the repository.

    Every float32 initializer whose numbers the file holds (as float16 or float32; as they
    are, or transposed, which is how the exporter folds a Linear layer's weight) becomes ONNX
    external data at the tensor's offset in the file, then a Cast to float32 and a Transpose
    where needed. ONNX Runtime folds those when it loads the graph, which then computes the
    same outputs as fast. Tensors with equal numbers (an untrained model's) are read from
    one place, as the exporter had merged them. The graph records the file's layout
    (weights.py, weights_layout), and the engine refuses a file laid out otherwise;
    and, given `made_from`, the config section it was exported from (section_digest), and
    the engine refuses a folder whose section was edited since."""
    import onnx
    from onnx import helper, numpy_helper

    if weights_path.resolve().parent != onnx_path.resolve().parent:
        raise ValueError(f"{weights_path} is not beside {onnx_path}")
    graph = onnx.load(str(onnx_path), load_external_data=False)
    if any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in graph.graph.initializer):
        raise ValueError(f"{onnx_path} already reads its weights from a file")
    onnx_types = {"F32": onnx.TensorProto.FLOAT, "F16": onnx.TensorProto.FLOAT16}

    def key(shape: tuple[int, ...], numbers: np.ndarray) -> tuple[tuple[int, ...], bytes]:
        return shape, hashlib.sha256(numbers.astype(np.float32).tobytes()).digest()

    stored = weights_path.read_bytes()
    header = weights_header(stored)
    data_start = 8 + len(header)
    held = {}  # (shape, hash of the float32 numbers) -> the tensor's type, offset and length in the file
    for entry in json.loads(header).values():
        if not isinstance(entry, dict) or entry.get("dtype") not in onnx_types:
            continue  # the metadata, and a batch norm's int64 counter
        begin, end = (data_start + offset for offset in entry["data_offsets"])
        numbers = np.frombuffer(stored[begin:end], np.float16 if entry["dtype"] == "F16" else np.float32)
        held[key(tuple(entry["shape"]), numbers)] = (entry["dtype"], begin, end - begin)

    kept, external, unpack = [], [], []
    for initializer in graph.graph.initializer:
        value = numpy_helper.to_array(initializer)
        if value.dtype != np.float32 or value.size == 0:
            kept.append(initializer)
            continue
        transpose = False
        found = held.get(key(value.shape, value))
        if found is None and value.ndim == 2:
            transpose, value = True, np.ascontiguousarray(value.T)
            found = held.get(key(value.shape, value))
        if found is None:
            kept.append(initializer)  # made by the exporter (shapes, constants): small
            continue
        dtype, offset, length = found
        steps: list[tuple[str, dict[str, Any]]] = [("Cast", {"to": onnx.TensorProto.FLOAT})] if dtype == "F16" else []
        steps += [("Transpose", {"perm": [1, 0]})] if transpose else []
        name = f"{initializer.name}/stored" if steps else initializer.name
        source = onnx.TensorProto(name=name, dims=value.shape, data_type=onnx_types[dtype])
        source.data_location = onnx.TensorProto.EXTERNAL
        for field, text in (("location", weights_path.name), ("offset", offset), ("length", length)):
            source.external_data.add(key=field, value=str(text))
        external.append(source)
        for number, (op, attributes) in enumerate(steps):
            output = initializer.name if number == len(steps) - 1 else f"{initializer.name}/{op}"
            unpack.append(helper.make_node(op, [name], [output], **attributes))
            name = output
    recorded = {WEIGHTS_LAYOUT_KEY: weights_layout(stored)}
    if made_from is not None:
        recorded[GRAPH_SOURCE_KEY] = section_digest(made_from)
    helper.set_model_props(graph, recorded)
    nodes = unpack + list(graph.graph.node)  # the unpacking first: nodes are in topological order
    graph.graph.ClearField("initializer")
    graph.graph.initializer.extend(kept + external)
    graph.graph.ClearField("node")
    graph.graph.node.extend(nodes)
    with atomic_write(onnx_path) as f:
        f.write(graph.SerializeToString())


def graph_with_weights_inside(onnx_path: Path) -> onnx.ModelProto:
    """A folder's ONNX graph with its weights inside as float32 initializers, as the exporter
    made it: `read_weights_beside` undone (every Cast or Transpose of an initializer folded,
    which the exporter leaves none of), for tools that look for weights among a graph's
    initializers (ONNX Runtime's quantizer)."""
    import onnx
    from onnx import helper, numpy_helper

    graph = onnx.load(str(onnx_path))  # reads the external data
    values = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.graph.initializer}
    remaining = []
    for node in graph.graph.node:
        if node.op_type in ("Cast", "Transpose") and node.input[0] in values:
            value, attributes = values[node.input[0]], {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "Cast":
                values[node.output[0]] = value.astype(helper.tensor_dtype_to_np_dtype(attributes["to"]))
            else:
                values[node.output[0]] = np.transpose(value, attributes.get("perm"))
        else:
            remaining.append(node)
    used = {name for node in remaining for name in node.input} | {output.name for output in graph.graph.output}
    graph.graph.ClearField("node")
    graph.graph.node.extend(remaining)
    graph.graph.ClearField("initializer")
    graph.graph.initializer.extend(
        numpy_helper.from_array(np.ascontiguousarray(value), name) for name, value in values.items() if name in used
    )
    kept_props = [prop for prop in graph.metadata_props if prop.key != WEIGHTS_LAYOUT_KEY]
    graph.ClearField("metadata_props")
    graph.metadata_props.extend(kept_props)
    return graph
