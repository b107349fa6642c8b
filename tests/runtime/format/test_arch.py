"""The architecture description (runtime/format/arch.py): the presets, the search space and its
parameter formulas against the torch layers, and the text form."""

import pytest

from lightspeech_cli.model.acoustic import AcousticModel, count_parameters
from lightspeech_cli.model.ops import OPERATIONS, Layer
from lightspeech_cli.runtime.format.arch import PRESETS, SEARCH_SPACE, Architecture, operation_parameters
from lightspeech_cli.runtime.format.voice import ModelConfig


@pytest.mark.exact
def test_presets_have_the_papers_sizes():
    fastspeech2 = count_parameters(AcousticModel(ModelConfig(architecture="fastspeech2")))
    lightspeech = count_parameters(AcousticModel(ModelConfig(architecture="lightspeech")))
    assert 25e6 < fastspeech2 < 30e6
    assert 1.5e6 < lightspeech < 2e6
    assert fastspeech2 / lightspeech >= 15


@pytest.mark.exact
def test_the_operation_table_is_the_search_space():
    assert tuple(OPERATIONS) == SEARCH_SPACE and len(SEARCH_SPACE) == 12


@pytest.mark.exact
@pytest.mark.parametrize("op", SEARCH_SPACE)
def test_parameter_formulas_match_the_layers(op):
    for hidden in (16, 256):
        assert operation_parameters(op, hidden) == count_parameters(Layer(op, hidden, 0.1))


@pytest.mark.exact
def test_descriptions_round_trip():
    for arch in PRESETS.values():
        assert Architecture.parse(str(arch)) == arch
    arch = Architecture.parse("sep5 att4 | ffn identity hidden=64 predictor=conv")
    assert arch.encoder == ("sep5", "att4") and arch.decoder == ("ffn", "identity")
    assert arch.hidden == 64 and arch.predictor == "conv" and not arch.postnet


@pytest.mark.exact
@pytest.mark.parametrize(
    "text",
    [
        "sep3 | sep5",
        "sep5 sep5",
        "sep5 | att3",
        "sep5 | sep5 hidden=x",
        "sep5 | sep5 colour=red",
        "| sep5",
        "sep5 | sep5 predictor=lstm",
        "sep5 | sep5 hidden=100000",
        "sep5 | sep5 hidden=0",
        "sep5 | sep5 hidden=12",
        "sep5 | sep5 hidden=１６",
        " ".join(["sep5"] * 13) + " | sep5",
        "ffn+ffn+ffn+ffn | sep5",
        " ".join(["ffn+ffn+ffn"] * 12) + " | sep5 hidden=1024",
        "sep5 | sep5 " + "x" * 500,
    ],
)
def test_bad_and_huge_descriptions_are_rejected(text):
    with pytest.raises(ValueError):
        Architecture.parse(text)
