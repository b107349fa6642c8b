import pytest


def test_profile_refuses_a_text_too_long_to_profile_as_one_sequence():
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.profile import MAX_PROFILE_PHONEMES, phoneme_ids

    ids, _ = phoneme_ids("Hello there friend. " * 10, "arpabet-1")
    assert 0 < ids.shape[1] < MAX_PROFILE_PHONEMES
    with pytest.raises(InputError, match="phonemes, profiled as one sequence; give at most 5,000"):
        phoneme_ids("Hello there friend. " * 400, "arpabet-1")
