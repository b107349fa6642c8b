"""The voice archive checks, one at a time: each test breaks exactly one rule and expects
exactly that check's refusal, so removing any single check fails a test here. The limits
are lowered with monkeypatch, so no test needs a 100 MB archive."""

import io
import tarfile

import numpy as np
import pytest

from lightspeech_cli.errors import InputError, OutputError, VoiceError
from lightspeech_cli.runtime import registry
from lightspeech_cli.runtime.format.voice import Voice, installed_voice_names, installed_voices_dir

from ..helpers import make_tiny_voice
from .helpers import archive_of


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """The files of a real, installable tiny voice."""
    folder = make_tiny_voice(tmp_path_factory.mktemp("source") / "tiny").folder
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def extract(tmp_path, members, kinds=None):
    archive = archive_of(tmp_path / "voice.tar.gz", members, kinds)
    into = tmp_path / "into"
    into.mkdir(exist_ok=True)
    registry.safe_extract(archive, into)
    return into


@pytest.mark.exact
def test_a_good_archive_extracts_every_file_byte_for_byte(tmp_path, good_files):
    into = extract(tmp_path, list(good_files.items()))
    assert {p.name: p.read_bytes() for p in into.iterdir()} == good_files


# --- each structural check alone ------------------------------------------------------------


@pytest.mark.exact
@pytest.mark.parametrize("name", ["/tmp/config.json", "../config.json", "sub/config.json", ".."])
def test_a_member_path_that_is_not_one_plain_name_is_an_unsafe_path(tmp_path, good_files, name):
    members = [(k, v) for k, v in good_files.items() if k != "config.json"] + [(name, good_files["config.json"])]
    with pytest.raises(VoiceError, match="unsafe path"):
        extract(tmp_path, members)


@pytest.mark.exact
def test_a_member_outside_the_allow_list_is_an_unexpected_file(tmp_path, good_files):
    with pytest.raises(VoiceError, match="unexpected file"):
        extract(tmp_path, [*good_files.items(), ("run.sh", b"rm -rf ~")])


@pytest.mark.exact
@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE])
def test_a_member_that_is_not_a_regular_file_is_refused(tmp_path, good_files, kind):
    members = [(k, v) for k, v in good_files.items() if k != "MODEL_CARD.md"] + [("MODEL_CARD.md", b"")]
    with pytest.raises(VoiceError, match="not a regular file"):
        extract(tmp_path, members, {"MODEL_CARD.md": kind})


@pytest.mark.exact
def test_a_member_that_appears_twice_is_refused(tmp_path, good_files):
    with pytest.raises(VoiceError, match="appears twice"):
        extract(tmp_path, [*good_files.items(), ("config.json", b"{}")])


@pytest.mark.exact
@pytest.mark.parametrize(
    "name, kind, message",
    [
        ("MODEL_CARD.md", tarfile.SYMTYPE, "voice.tar.gz: 'MODEL_CARD.md' is not a regular file; refusing the archive"),
        ("../x.json", None, "voice.tar.gz: unsafe path '../x.json'; refusing the archive"),
        ("run.sh", None, "voice.tar.gz: unexpected file 'run.sh'; refusing the archive"),
    ],
)
def test_a_refused_member_is_named_in_the_error(tmp_path, name, kind, message):
    with pytest.raises(VoiceError) as caught:
        extract(tmp_path, [(name, b"x")], {name: kind} if kind else None)
    assert str(caught.value) == message


@pytest.mark.exact
def test_an_archive_that_cannot_be_read_says_why(tmp_path):
    with pytest.raises(VoiceError) as caught:
        registry.safe_extract(tmp_path / "absent.tar.gz", tmp_path)
    assert str(caught.value) == "cannot read absent.tar.gz (No such file or directory)"


@pytest.mark.exact
def test_a_file_that_cannot_be_written_is_the_disks_fault_not_the_archives(tmp_path, good_files):
    (tmp_path / "into" / "config.json").mkdir(parents=True)  # where the config would go
    with pytest.raises(OutputError) as caught:
        extract(tmp_path, list(good_files.items()))
    assert str(caught.value) == f"cannot install voice.tar.gz into {tmp_path}: Is a directory"


@pytest.mark.exact
@pytest.mark.parametrize("garbage", [b"", b"\x1f\x8b\x08\x00garbage", b"plain text, not gzip"])
def test_bytes_that_are_no_archive_are_refused(tmp_path, garbage):
    archive = tmp_path / "garbage.tar.gz"
    archive.write_bytes(garbage)
    with pytest.raises(VoiceError, match="not a valid voice archive"):
        registry.safe_extract(archive, tmp_path)


@pytest.mark.exact
def test_a_tar_that_is_not_gzipped_is_refused(tmp_path, good_files):
    archive = archive_of(tmp_path / "voice.tar.gz", list(good_files.items()), mode="w")  # a plain tar, .gz by name
    with pytest.raises(VoiceError, match="not a valid voice archive"):
        registry.safe_extract(archive, tmp_path / "into")


@pytest.mark.exact
def test_an_error_that_names_the_staging_folder_names_the_archive(tmp_path, good_files, monkeypatch):
    def refusing(folder):
        raise VoiceError(f"no voice in {folder}")

    monkeypatch.setattr(registry, "Voice", refusing)
    with pytest.raises(VoiceError) as caught:
        install(tmp_path, good_files)
    assert str(caught.value) == "no voice in voice.tar.gz"


# --- the size limits: the member limit and the total limit, each alone ------------------------


def largest(files):
    return max(len(v) for v in files.values())


@pytest.mark.exact
def test_one_member_over_the_member_limit_is_refused(tmp_path, good_files, monkeypatch):
    monkeypatch.setattr(registry, "MAX_ARCHIVE_MEMBER", largest(good_files) - 1)
    monkeypatch.setattr(registry, "MAX_ARCHIVE_TOTAL", 10 * sum(map(len, good_files.values())))
    with pytest.raises(VoiceError, match="too large"):
        extract(tmp_path, list(good_files.items()))


@pytest.mark.exact
def test_a_member_exactly_at_the_member_limit_is_accepted(tmp_path, good_files, monkeypatch):
    monkeypatch.setattr(registry, "MAX_ARCHIVE_MEMBER", largest(good_files))
    monkeypatch.setattr(registry, "MAX_ARCHIVE_TOTAL", sum(map(len, good_files.values())))
    extract(tmp_path, list(good_files.items()))  # the total is exactly at its limit too


@pytest.mark.exact
def test_members_each_small_enough_but_too_large_together_are_refused(tmp_path, good_files, monkeypatch):
    total = sum(map(len, good_files.values()))
    monkeypatch.setattr(registry, "MAX_ARCHIVE_MEMBER", largest(good_files))
    monkeypatch.setattr(registry, "MAX_ARCHIVE_TOTAL", total - 1)
    with pytest.raises(VoiceError, match="too large"):
        extract(tmp_path, list(good_files.items()))


# --- data that does not match its header -----------------------------------------------------


def lenient_reader(change):
    """A tar reader that does not notice a member's data ends early (or runs on), as
    tarfile on a damaged or crafted stream may not: the size check must."""
    original = tarfile.TarFile.extractfile

    def extractfile(tar, member):
        return io.BytesIO(change(original(tar, member).read()))

    return extractfile


@pytest.mark.exact
@pytest.mark.parametrize(
    "change",
    [
        lambda data: data[:-1],
        lambda data: data[: len(data) // 2],
        lambda data: data + b"!",
        lambda data: data + b"x" * 200_000,
    ],
)
def test_member_data_shorter_or_longer_than_its_header_is_refused(tmp_path, good_files, monkeypatch, change):
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lenient_reader(change))
    with pytest.raises(VoiceError, match="truncated"):
        extract(tmp_path, list(good_files.items()))


@pytest.mark.exact
def test_the_real_tar_reader_refuses_a_cut_archive(tmp_path, good_files):
    archive = archive_of(tmp_path / "whole.tar.gz", list(good_files.items()))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(VoiceError, match="not a valid voice archive|truncated"):
        registry.safe_extract(cut, tmp_path)


# --- verify before install --------------------------------------------------------------------


def install(tmp_path, files, name=None):
    return registry.install_archive(archive_of(tmp_path / "voice.tar.gz", list(files.items())), name)


@pytest.mark.exact
def test_install_puts_a_checked_voice_under_its_name_or_the_given_one(tmp_path, good_files):
    voice = install(tmp_path, good_files)
    assert voice.folder == installed_voices_dir() / "tiny" and voice.name == "tiny"
    assert {p.name for p in voice.folder.iterdir()} == set(good_files)
    other = install(tmp_path, good_files, "other-name")
    assert other.folder == installed_voices_dir() / "other-name"
    assert sorted(p.name for p in installed_voices_dir().iterdir()) == ["other-name", "tiny"]  # no staging left


@pytest.mark.exact
def test_install_replaces_an_older_copy(tmp_path, good_files):
    install(tmp_path, good_files)
    card = {**good_files, "MODEL_CARD.md": b"# the new card\n"}
    voice = install(tmp_path, card)
    assert (voice.folder / "MODEL_CARD.md").read_bytes() == b"# the new card\n"


@pytest.mark.exact
def test_install_refuses_a_bad_name_before_touching_anything(tmp_path, good_files):
    with pytest.raises(InputError):
        install(tmp_path, good_files, "../escape")
    assert not installed_voices_dir().exists() or list(installed_voices_dir().iterdir()) == []


def broken_weights(files, tmp_path, how):
    from safetensors.numpy import load_file, save_file

    path = tmp_path / "weights.safetensors"
    path.write_bytes(files["model.safetensors"])
    state = load_file(path)
    how(state)
    save_file(state, path)
    return {**files, "model.safetensors": path.read_bytes()}


def nan_in_one_weight(state):
    state["mel_projection.bias"] = np.full_like(state["mel_projection.bias"], np.nan)


@pytest.mark.exact
@pytest.mark.parametrize(
    "files, message",
    [
        (lambda files, tmp: broken_weights(files, tmp, nan_in_one_weight), "NaN"),
        (lambda files, tmp: {**files, "model.safetensors": b"not safetensors"}, "corrupt"),
        (lambda files, tmp: {**files, "model.onnx": b"\x08\x07garbage"}, "does not load"),
    ],
)
def test_an_archive_whose_model_fails_verification_installs_nothing(tmp_path, good_files, files, message):
    with pytest.raises(VoiceError, match=message):
        install(tmp_path, files(good_files, tmp_path))
    assert list(installed_voices_dir().iterdir()) == []  # no voice, no staging folder


@pytest.mark.exact
def test_verify_voice_runs_the_model_and_checks_its_output(tmp_path, good_files, monkeypatch):
    folder = tmp_path / "voice"
    folder.mkdir()
    for name, data in good_files.items():
        (folder / name).write_bytes(data)
    registry.verify_voice(Voice(folder))  # the good voice passes
    from lightspeech_cli.runtime import engine

    def runner_making(mel, durations):
        return lambda voice, backend, threads: lambda *inputs: (mel, durations)

    n_mels = Voice(folder).config.audio.n_mels
    good_durations = np.full((1, 5), 6, np.int64)
    cases = {
        "wrong width": (np.zeros((1, 30, n_mels + 1), np.float32), good_durations, "shape"),
        "no batch axis": (np.zeros((30, n_mels), np.float32), good_durations, "shape"),
        "two utterances": (np.zeros((2, 30, n_mels), np.float32), good_durations, "shape"),
        "durations misshapen": (np.zeros((1, 30, n_mels), np.float32), np.ones((1, 4), np.int64), "shape"),
        "infinite frames": (np.full((1, 30, n_mels), np.inf, np.float32), good_durations, "NaN or infinite"),
        "NaN frames": (np.full((1, 30, n_mels), np.nan, np.float32), good_durations, "NaN or infinite"),
    }
    for mel, durations, message in cases.values():
        monkeypatch.setattr(engine, "acoustic_model", runner_making(mel, durations))
        with pytest.raises(VoiceError, match=message):
            registry.verify_voice(Voice(folder))

    def crashing(voice, backend, threads):
        def run(*inputs):
            raise RuntimeError("ONNX Runtime fell over\nsecond line")

        return run

    monkeypatch.setattr(engine, "acoustic_model", crashing)
    with pytest.raises(VoiceError, match=r"does not run \(ONNX Runtime fell over\)$"):
        registry.verify_voice(Voice(folder))


# --- what the errors say, and the installed folder's permissions ---------------------------------


@pytest.mark.exact
def test_weights_errors_name_the_file_and_the_weight(tmp_path, good_files):
    folder = tmp_path / "voice"
    folder.mkdir()
    for name, data in broken_weights(good_files, tmp_path, nan_in_one_weight).items():
        (folder / name).write_bytes(data)
    with pytest.raises(VoiceError, match=r"^voice tiny: weight 'mel_projection.bias' holds NaN or infinite values$"):
        registry.verify_voice(Voice(folder))
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(VoiceError, match=r"^voice tiny: model.safetensors is corrupt \(.+\)$"):
        registry.verify_voice(Voice(folder))


@pytest.mark.exact
def test_weights_of_a_type_numpy_cannot_hold_are_refused_not_a_crash(tmp_path, good_files):
    """float8 weights have the right names and shapes; reading them for the finiteness
    check failed with an AttributeError (an internal error). Weights are float32 or
    float16, checked with their shapes when the voice loads."""
    import torch
    from safetensors.torch import load_file, save_file

    path = tmp_path / "weights.safetensors"
    path.write_bytes(good_files["model.safetensors"])
    save_file({name: tensor.to(torch.float8_e4m3fn) for name, tensor in load_file(path).items()}, path)
    with pytest.raises(VoiceError) as caught:
        install(tmp_path, {**good_files, "model.safetensors": path.read_bytes()})
    assert str(caught.value) == (
        "voice tiny: model.safetensors holds 'decoder.layers.0.ops.0.expand.bias' as 'F8_E4M3', "
        "not F32 or F16 (float32 or float16)"
    )
    assert list(installed_voices_dir().iterdir()) == []


@pytest.mark.exact
def test_a_weights_read_error_is_named_and_cut_to_200_characters(tmp_path, good_files, monkeypatch):
    """The header was read when the voice loaded; the data can still fail (a bad sector)."""
    import safetensors.numpy

    def unreadable(path):
        raise OSError("Input/output error " + "x" * 300)

    monkeypatch.setattr(safetensors.numpy, "load_file", unreadable)
    with pytest.raises(VoiceError) as caught:
        install(tmp_path, good_files)
    assert (
        str(caught.value) == f"voice tiny: model.safetensors is corrupt ({('Input/output error ' + 'x' * 300)[:200]})"
    )


@pytest.mark.exact
def test_a_model_that_fails_is_reported_by_the_first_200_characters_of_its_first_line(
    tmp_path, good_files, monkeypatch
):
    from lightspeech_cli.runtime import engine

    def failing(voice, backend, threads):
        def run(*inputs):
            raise RuntimeError("y" * 300 + "\nsecond line")

        return run

    monkeypatch.setattr(engine, "acoustic_model", failing)
    with pytest.raises(VoiceError) as caught:
        install(tmp_path, good_files)
    assert str(caught.value) == f"voice tiny: its model does not run ({'y' * 200})"


@pytest.mark.exact
def test_an_unwritable_cache_is_reported_with_its_folder(tmp_path, good_files):
    voices = installed_voices_dir()
    voices.parent.mkdir(parents=True)
    voices.write_text("a file where the voices folder goes")
    with pytest.raises(OutputError) as caught:
        install(tmp_path, good_files)
    assert str(caught.value) == f"cannot write to the cache {voices}: File exists"


@pytest.mark.exact
def test_a_failed_move_into_place_is_reported_and_leaves_nothing(tmp_path, good_files, monkeypatch):
    import errno
    import os

    def full_disk(source, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError) as caught:
        install(tmp_path, good_files)
    assert str(caught.value) == f"cannot install into {installed_voices_dir()}: No space left on device"
    assert list(installed_voices_dir().iterdir()) == []


@pytest.mark.exact
def test_a_killed_imports_staging_folder_is_hidden_then_swept(tmp_path, good_files, monkeypatch):
    """What a killed import leaves behind is never listed as a voice, and the next import
    removes it once it is old enough that no live import can own it."""
    import os

    with monkeypatch.context() as killed:

        def kill(voice):
            raise KeyboardInterrupt

        killed.setattr(registry, "verify_voice", kill)
        killed.setattr(registry, "remove_inside", lambda path, root: None)  # it died before cleaning up
        with pytest.raises(KeyboardInterrupt):
            install(tmp_path, good_files)
    (leftover,) = installed_voices_dir().iterdir()
    assert leftover.name.startswith(".incoming.") and (leftover / "config.json").is_file()
    assert leftover.name not in installed_voice_names() and "tiny" not in installed_voice_names()
    install(tmp_path, good_files)
    assert leftover.exists()  # too young: it may be a live import's
    os.utime(leftover, (0, 0))
    install(tmp_path, good_files)
    assert not leftover.exists()


@pytest.mark.exact
def test_an_installed_voice_folder_follows_the_umask(tmp_path, good_files, monkeypatch):
    import stat

    from lightspeech_cli import paths

    monkeypatch.setattr(paths, "_UMASK", 0o027)  # read once at import: the process's umask
    voice = install(tmp_path, good_files)
    assert stat.S_IMODE(voice.folder.stat().st_mode) == 0o750
