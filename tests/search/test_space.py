import random

import pytest

from lightspeech_cli.model.acoustic import AcousticModel, ModelConfig, count_parameters
from lightspeech_cli.model.ops import SEARCH_SPACE
from lightspeech_cli.runtime.format.arch import PRESETS, Architecture
from lightspeech_cli.search.space import N_LAYERS, SearchSpace, one_hot

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
    features = one_hot([tokens])
    assert features.shape == (1, N_LAYERS * len(SEARCH_SPACE)) and features.sum() == N_LAYERS


def test_parameter_counts_are_exact():
    rng = random.Random(2)
    for space in (TINY, SearchSpace(hidden=64)):
        for _ in range(5):
            tokens = space.sample(rng)
            model = AcousticModel(ModelConfig(architecture=str(space.decode(tokens))))
            assert space.parameters(tokens) == count_parameters(model)
    assert SearchSpace().parameters(SearchSpace().encode(PRESETS["lightspeech"])) == 1_694_803
