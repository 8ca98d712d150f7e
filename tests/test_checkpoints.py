"""Checkpoint files that are truncated, corrupted or crafted get one clear error, never a silent load."""

import zipfile

import pytest
import torch

from nco.checkpoints import CheckpointError, load_policy, save_policy, shipped
from nco.cli import main
from nco.policies import make_policy


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "p.pt"
    save_policy(path, make_policy("pomo", "tsp", num_layers=1), "pomo", "tsp", 10, {"num_layers": 1})
    return path


def _flip_a_byte_in_the_weights(path):
    with zipfile.ZipFile(path) as archive:
        record = next(i for i in archive.infolist() if "/data/" in i.filename and i.file_size > 64)
    data = bytearray(path.read_bytes())
    head = record.header_offset  # the local header's own name and extra lengths (torch pads the extra field)
    start = head + 30 + int.from_bytes(data[head + 26:head + 28], "little") + int.from_bytes(data[head + 28:head + 30],
                                                                                             "little")
    data[start + 10] ^= 0xFF
    path.write_bytes(bytes(data))


def test_truncated_and_corrupted_files_fail_their_checksum(policy_file, tmp_path):
    truncated = tmp_path / "t.pt"
    truncated.write_bytes(policy_file.read_bytes()[: policy_file.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="t.pt"):
        load_policy(truncated)
    _flip_a_byte_in_the_weights(policy_file)
    with pytest.raises(CheckpointError, match="fails its checksum"):
        load_policy(policy_file)


def test_nan_weights_are_refused(tmp_path):
    model = make_policy("pomo", "tsp", num_layers=1)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    save_policy(tmp_path / "nan.pt", model, "pomo", "tsp", 10, {"num_layers": 1})
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_policy(tmp_path / "nan.pt")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("problem"), "field 'problem'"),
    (lambda d: d.update(num_nodes="twenty"), "field 'num_nodes'"),
    (lambda d: d.update(problem="vrptw"), "unknown problem 'vrptw'"),
    (lambda d: d.update(policy="gpt"), "field 'policy'"),
    (lambda d: d["config"].update(wings=2), "field 'config'"),
])
def test_crafted_metadata_is_named(tmp_path, change, message):
    data = torch.load(shipped("tsp", 20), weights_only=True)
    change(data)
    torch.save(data, tmp_path / "crafted.pt")
    with pytest.raises(CheckpointError, match=message):
        load_policy(tmp_path / "crafted.pt")


@pytest.mark.parametrize("args, message", [
    (["--num-nodes", "0"], "num_nodes: expected nodes >= 2"), (["--num-nodes", "1"], "num_nodes"),
    (["--batch-size", "0"], "batch_size"), (["--lr", "-1"], "lr: expected a number > 0"),
    (["--accelerator", "bogus"], "accelerator: expected one of"), (["--devices", "0"], "devices"),
    (["--resume", "missing.ckpt"], "no such checkpoint"), (["--max-steps", "0"], "max_steps"),
])
def test_bad_training_options_are_one_line_before_training(args, message, capsys, tmp_path):
    assert main(["train", "tsp", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_a_truncated_resume_checkpoint_is_refused(policy_file, tmp_path, capsys):
    bad = tmp_path / "last.ckpt"
    bad.write_bytes(policy_file.read_bytes()[:1000])
    assert main(["train", "tsp", "--resume", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "last.ckpt" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--device", "bogus"], "device: expected cpu or cuda"),
    (["--device", "cuda:7"], "CUDA GPU(s) here"),
])
def test_eval_names_a_device_it_cannot_use(args, message, capsys):
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    assert main(["eval", str(shipped("tsp", 20)), "--instances", "5", *args]) == 2
    assert message in capsys.readouterr().err


def test_eval_of_a_file_of_another_problem_names_the_mismatch(tmp_path, capsys):
    path = tmp_path / "c.vrp"
    path.write_text("NAME : c\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
                    "NODE_COORD_SECTION\n1 0 0\n2 0 10\n3 10 0\nDEMAND_SECTION\n1 0\n2 4\n3 2\n"
                    "DEPOT_SECTION\n1\n-1\nEOF\n")
    assert main(["eval", str(shipped("tsp", 20)), "--file", str(path)]) == 2
    assert "a pomo policy for TSP, not for CVRP" in capsys.readouterr().err
