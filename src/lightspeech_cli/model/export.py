"""Compiling torch models for inference: the builders' half of the engine.

    onnx         exported to ONNX, run by ONNX Runtime: what voices and vocoders ship, and
                 what the runtime uses by default (bench/backends.txt)
    torchscript  torch.jit.script (the acoustic model: its lengths depend on the data, so
                 it cannot be traced) or torch.jit.trace (convolutional vocoders)
    eager        the nn.Module as it is

The iSTFT vocoder ships its network only (mel -> log amplitude, phase): ONNX has no
complex inverse FFT, and numpy's is as fast (bench/runtime_options.txt). Torch runners
take and return numpy arrays, so the synthesizer never sees a tensor.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np
import torch

from ..paths import atomic_write
from ..runtime.vocoder import ISTFT_OUTPUTS
from ..runtime.voice import (
    ACOUSTIC_OUTPUTS,
    GRAPH_SOURCE_KEY,
    WEIGHTS_LAYOUT_KEY,
    section_digest,
    weights_header,
    weights_layout,
)

if TYPE_CHECKING:
    import onnx

    from .istft import IstftVocoder

ONNX_OPSET = 17
# Runs a compiled module: numpy arrays in, a tuple of numpy arrays out.
Runner = Callable[..., tuple]


def _acoustic_example() -> tuple:
    ones = torch.ones(1, 12)
    return (torch.randint(1, 10, (1, 12)), ones, ones, ones)


def _export(
    module: torch.nn.Module, inputs: tuple, path: Path, names: list[str], outputs: list[str], axes: dict
) -> None:
    with atomic_write(path) as f, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about data-dependent shapes, which are dynamic axes here
        torch.onnx.export(
            module.eval(),
            inputs,
            f,  # type: ignore[arg-type]  # the TorchScript exporter (dynamo=False) also writes to a file object
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            dynamo=False,
            opset_version=ONNX_OPSET,
        )


def export_acoustic(model: torch.nn.Module, path: Path) -> None:
    """ids [B, T]; speed, pitch, energy factors [B, T] (one per phoneme, so SSML can change
    part of a sentence) -> mel [B, F, n_mels], durations [B, T]."""
    per_phoneme = {0: "batch", 1: "phonemes"}
    _export(
        model,
        _acoustic_example(),
        path,
        ["ids", "speed", "pitch", "energy"],
        ACOUSTIC_OUTPUTS,
        {
            "ids": per_phoneme,
            "speed": per_phoneme,
            "pitch": per_phoneme,
            "energy": per_phoneme,
            "mel": {0: "batch", 1: "frames"},
            "durations": per_phoneme,
        },
    )


class _IstftNetwork(torch.nn.Module):
    """The iSTFT vocoder up to its spectrum: what its ONNX graph holds."""

    def __init__(self, vocoder: IstftVocoder):
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.vocoder.spectrum(mel)


def export_istft_network(vocoder: IstftVocoder, path: Path) -> None:
    """mel [B, T, n_mels] -> log amplitude, phase [B, T, n_fft/2 + 1]; with a pulse source
    the spectrum and the source filter [B, T, n_fft/2 + 1, 2] (real, imaginary) and F0 [B, T]."""
    n_mels = vocoder.config.n_mels
    outputs = ISTFT_OUTPUTS[vocoder.config.source]
    _export(
        _IstftNetwork(vocoder),
        (torch.zeros(1, 20, n_mels),),
        path,
        ["mel"],
        outputs,
        {name: {0: "batch", 1: "frames"} for name in ["mel", *outputs]},
    )


def export_waveform_vocoder(vocoder: torch.nn.Module, path: Path, n_mels: int = 80) -> None:
    """A vocoder whole (HiFi-GAN): mel [B, T, n_mels] -> wave [B, T * hop]."""
    _export(
        vocoder,
        (torch.zeros(1, 20, n_mels),),
        path,
        ["mel"],
        ["wave"],
        {"mel": {0: "batch", 1: "frames"}, "wave": {0: "batch", 1: "samples"}},
    )


def compile_torchscript(module: torch.nn.Module, kind: str, path: Path, n_mels: int = 80) -> None:
    """Script (acoustic) or trace (vocoders) `module` and save it at `path`."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch 2.13 warns that TorchScript is deprecated
        if kind == "acoustic":
            compiled = torch.jit.script(module.eval())
        else:
            compiled = torch.jit.trace(module.eval(), (torch.zeros(1, 20, n_mels),), check_trace=False)
        with atomic_write(path) as f:
            torch.jit.save(compiled, f)


def load_torchscript(path: Path) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.load(str(path))


def torch_runner(module: torch.nn.Module) -> Runner:
    """A torch module (eager or TorchScript) behind numpy in, numpy out."""

    def run(*inputs: np.ndarray) -> tuple:
        with torch.inference_mode():
            out = module(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs))
        return tuple(o.numpy() for o in (out if isinstance(out, tuple) else (out,)))

    return run


# The largest magnitude half precision holds.
HALF_MAX = 65504.0
AnyModule = TypeVar("AnyModule", bound=torch.nn.Module)


def half_precision_copy(model: AnyModule) -> tuple[AnyModule, dict[str, torch.Tensor]]:
    """A copy of `model` with its parameters rounded to half precision, and the weights a
    folder stores for it: those parameters as float16, the state's other tensors (batch
    norms' running statistics and counters) as they are. The ONNX graph is exported from the
    copy, so it computes in float32 with the very numbers the safetensors file holds and
    every backend agrees (it reads them from that file: `read_weights_beside`). Why: every
    shipped version stays in the repository and in downloads, and half precision halves it.
    The rounding (2^-11 relative; coarser below 6e-5, where float16 is subnormal) is not
    heard: on the 40 dev sentences (held out, not the benchmark's) the pulse vocoder of
    step 50,000 scores DNSMOS P.808 3.975 before and 3.973 after (its waveform does move, as
    a last-bit change of F0 shifts the pulses' phase). A parameter that is empty, not finite
    or beyond half precision's range stays as it is."""
    import copy

    model = copy.deepcopy(model)
    parameters = dict(model.named_parameters())
    stored = {}
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if (
                name in parameters
                and tensor.is_floating_point()
                and tensor.numel() > 0
                and tensor.abs().max() <= HALF_MAX  # False for NaN
            ):
                half = tensor.half()
                parameters[name].copy_(half.float())
                tensor = half
            stored[name] = tensor.contiguous()
    return model, stored


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
    (runtime/voice.py, weights_layout), and the engine refuses a file laid out otherwise;
    and, given `made_from`, the config section it was exported from (section_digest), and
    the engine refuses a folder whose section was edited since."""
    import hashlib
    import json

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


def save_voice(
    folder: Path, config, model: torch.nn.Module, model_card: str = "", extra_files: dict[str, str] | None = None
):
    """Write a format-2 voice folder: config, weights (half precision, `half_precision_copy`),
    the model compiled to ONNX (reading those weights: `read_weights_beside`), its card.
    Written into a staging folder beside `folder`, then renamed: never half a voice; an
    existing `folder` is replaced only if it holds nothing but a voice's files."""
    import json

    from safetensors.torch import save_file

    from ..paths import replaced_folder
    from ..runtime.voice import (
        CONFIG_FILE,
        CURRENT_FORMAT,
        MODEL_CARD_FILE,
        ONNX_FILE,
        VOICE_FILES,
        WEIGHTS_FILE,
        Voice,
    )

    config.format = CURRENT_FORMAT
    model, weights = half_precision_copy(model)
    with replaced_folder(folder, VOICE_FILES) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
        save_file(weights, staging / WEIGHTS_FILE)
        export_acoustic(model, staging / ONNX_FILE)
        read_weights_beside(staging / ONNX_FILE, staging / WEIGHTS_FILE, config.model.graph_settings())
        if model_card:
            (staging / MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        Voice(staging)  # read back as any voice is: a voice that would not load never replaces one
    return Voice(folder)
