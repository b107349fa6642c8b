import numpy as np
import pytest

pytest.importorskip("hibari")

from lightspeech_cli.errors import InputError  # noqa: E402
from lightspeech_cli.train.features import per_phoneme  # noqa: E402


def test_per_phoneme_means_interpolate_unvoiced_phonemes():
    values = np.array([1, 1, 0, 0, 3, 3], np.float32)
    voiced = np.array([1, 1, 0, 0, 1, 1], bool)
    assert per_phoneme(values, voiced, np.array([2, 2, 2])).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        "{}",
        '{"pitch_log_mean": 5, "pitch_log_std": 0, "energy_log_mean": 1, "energy_log_std": 1}',
        '{"pitch_log_mean": NaN, "pitch_log_std": 1, "energy_log_mean": 1, "energy_log_std": 1}',
        '{"pitch_log_mean": "5", "pitch_log_std": 1, "energy_log_mean": 1, "energy_log_std": 1}',
        "[" * 50_000,
    ],
)
def test_corrupt_feature_statistics_are_one_input_error(tmp_path, content):
    from lightspeech_cli.train.features import read_stats

    (tmp_path / "stats.json").write_text(content)
    with pytest.raises(InputError, match="stats.json is corrupt; run `lightspeech train features` again"):
        read_stats(tmp_path)
