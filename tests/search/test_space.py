import random

import pytest

from lightspeech_cli.model.acoustic import AcousticModel, ModelConfig, count_parameters
from lightspeech_cli.model.ops import SEARCH_SPACE
from lightspeech_cli.runtime.format.arch import PRESETS, Architecture
from lightspeech_cli.search.space import N_LAYERS, SearchSpace, feature_names

pytest.importorskip("lightgbm")


TINY = SearchSpace(hidden=16)


def test_architectures_encode_and_decode():
    space = SearchSpace()
    paper = PRESETS["lightspeech"]
    tokens = space.encode(paper)
    assert [SEARCH_SPACE[t] for t in tokens] == list(paper.encoder + paper.decoder)
    assert space.decode(tokens) == paper
    rng = random.Random(1)
    for _ in range(50):
        sampled = space.sample(rng)
        assert len(sampled) == N_LAYERS and space.encode(Architecture.parse(str(space.decode(sampled)))) == sampled
    with pytest.raises(ValueError, match="not one operation"):
        space.encode(PRESETS["fastspeech2"].with_hidden(256).__class__(("att2+ffn",) * 4, ("sep5",) * 4))
    with pytest.raises(ValueError, match="outside this search space"):
        space.encode(paper.with_hidden(128))
    with pytest.raises(ValueError):
        space.decode((0,) * 7)


def test_features_say_each_layers_family_and_size_and_the_sums():
    space = SearchSpace()
    paper = space.encode(PRESETS["lightspeech"])  # sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13
    mixed = space.encode(Architecture.parse("att4 ffn identity sep1 | att8 att2 identity identity"))
    features = dict(zip(feature_names(), space.features([paper, mixed])[1], strict=True))
    assert len(features) == len(feature_names()) == space.features([paper]).shape[1]
    assert features["encoder 0 att"] == 1 and features["encoder 0 sep"] == 0 and features["encoder 0 size"] == 4
    assert features["encoder 1 ffn"] == 1 and features["encoder 1 size"] == 0
    assert features["encoder 3 sep"] == 1 and features["encoder 3 size"] == 1
    assert features["decoder 2 identity"] == 1
    assert features["decoder identitys"] == 2 and features["decoder atts"] == 2 and features["decoder heads sum"] == 10
    assert features["encoder kernel sum"] == 1 and features["encoder heads sum"] == 4
    assert features["parameters (M)"] == pytest.approx(space.parameters(mixed) / 1e6)
    paper_features = dict(zip(feature_names(), space.features([paper])[0], strict=True))
    assert paper_features["encoder kernel sum"] == 5 + 25 + 13 + 9 and paper_features["decoder seps"] == 4


def test_parameter_counts_are_exact():
    rng = random.Random(2)
    for space in (TINY, SearchSpace(hidden=64)):
        for _ in range(5):
            tokens = space.sample(rng)
            model = AcousticModel(ModelConfig(architecture=str(space.decode(tokens))))
            assert space.parameters(tokens) == count_parameters(model)
    assert SearchSpace().parameters(SearchSpace().encode(PRESETS["lightspeech"])) == 1_694_803
