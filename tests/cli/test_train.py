import os

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line_error

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_train_help_shows_the_extra_literally():
    result = run("train", "--help")
    assert result.exit_code == 0
    assert "'.[train]'" in " ".join(result.stdout.split())


def test_train_threads_are_bounded_by_the_cores(tmp_path):
    too_many = 4 * (os.cpu_count() or 1) + 1
    for command in (["train", "fit"], ["train", "corpus"], ["train", "vocoder"]):
        assert_one_line_error(run(*command, tmp_path, "--threads", too_many), 2, "--threads must be from 1 to")


def test_train_corpus_reads_held_out_sentences_with_a_bound_and_needs_some(tmp_path):
    assert_one_line_error(run("train", "corpus", tmp_path / "w", "--heldout", "/dev/zero"), 2, "too long")
    (tmp_path / "empty.txt").write_text("\n \n")
    result = run("train", "corpus", tmp_path / "w", "--heldout", tmp_path / "empty.txt")
    assert_one_line_error(result, 2, "no sentences")


@pytest.mark.parametrize(
    "command", [["train", "features"], ["train", "fit"], ["train", "export"], ["train", "vocoder"], ["search"]]
)
def test_a_training_folder_that_is_a_file_or_a_link_to_nothing_is_a_usage_error(tmp_path, command):
    (tmp_path / "file").write_text("x")
    (tmp_path / "nothing").symlink_to(tmp_path / "missing")
    extra = ["-o", str(tmp_path / "out")] if command[-1] in ("export", "search") else []
    assert_one_line_error(run(*command, tmp_path / "file", *extra), 2, "is not a folder; give a training folder")
    assert_one_line_error(run(*command, tmp_path / "nothing", *extra), 2, "is a link to nothing")


@pytest.mark.parametrize("command", [["train", "fit"], ["train", "vocoder"]])
def test_train_device_is_cpu_or_cuda_and_a_missing_gpu_is_one_line(tmp_path, command):
    assert_one_line_error(run(*command, tmp_path, "--device", "tpu"), 2, "'tpu' is not cpu, cuda or cuda:N")
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert_one_line_error(run(*command, tmp_path, "--device", "cuda:0"), 2, "--device cuda:0: this torch")


def test_train_vocoder_names_an_unknown_init_vocoder_first(tmp_path):
    pytest.importorskip("torch")
    assert_one_line_error(run("train", "vocoder", tmp_path, "--init", "no-such-vocoder"), 5, "no-such-vocoder")
