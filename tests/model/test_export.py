def test_a_folders_graph_reads_its_weights_from_its_safetensors_file(tmp_path, tiny_voice):
    """model.onnx holds no second copy of the weights: each of its weights is external data
    at a tensor's exact place in model.safetensors (transposed ones too: the acoustic
    model's Linear layers), and what it still embeds is the exporter's few constants."""
    import json

    import onnx

    from ..helpers import make_tiny_vocoder

    make_tiny_vocoder(tmp_path / "vocoder", source="pulses")
    for folder in (tiny_voice.folder, tmp_path / "vocoder"):
        raw = (folder / "model.safetensors").read_bytes()
        data_start = 8 + int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:data_start])
        places = {
            (data_start + entry["data_offsets"][0], entry["data_offsets"][1] - entry["data_offsets"][0])
            for name, entry in header.items()
            if name != "__metadata__"
        }
        graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
        external = [tensor for tensor in graph.initializer if tensor.data_location == onnx.TensorProto.EXTERNAL]
        for tensor in external:
            fields = {entry.key: entry.value for entry in tensor.external_data}
            assert fields["location"] == "model.safetensors", fields
            assert (int(fields["offset"]), int(fields["length"])) in places, (tensor.name, fields)
        embedded = sum(len(t.raw_data) for t in graph.initializer) + sum(
            len(a.t.raw_data) for node in graph.node for a in node.attribute if a.type == onnx.AttributeProto.TENSOR
        )
        assert embedded < 8_000, (folder, embedded)
