"""The session's ask-before-loading gate and hash check see the same file the loader loads, in every path form."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from smoothgrad_desktop.core.models import code_model_path, load_model
from smoothgrad_desktop.core.models.base import sha256_file
from smoothgrad_desktop.core.session import Session, SessionError


@pytest.fixture()
def scripted(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    path = home / "models" / "net.pt"
    torch.jit.trace(load_model("default", device="cpu").module.cpu(), torch.rand(1, 1, 28, 28)).save(str(path))
    (home / "models" / "net.pt.json").write_text('{"channels": 1, "resize_height": 28}')
    (tmp_path / "link.pt").symlink_to(path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    return path


FORMS = ("~/models/net.pt", "models/net.pt", "./models/../models/net.pt", "LINK")


@pytest.mark.parametrize("form", FORMS)
def test_the_gate_checks_the_file_the_loader_loads(scripted, tmp_path, form):
    spec = str(tmp_path / "link.pt") if form == "LINK" else form
    digest = sha256_file(scripted)
    session = Session(model_spec=spec, weights_sha256=digest)
    code = session.code_model()
    assert code == Path(os.path.realpath(scripted))
    assert code == code_model_path(spec)
    assert load_model(spec, device="cpu").weights_path == code  # the loader opens exactly that file
    assert not session.code_model_changed() and session.check_files() == []
    scripted.write_bytes(scripted.read_bytes() + b"\0")  # the code changed since the session was saved
    assert session.code_model_changed()
    assert [line for line in session.check_files() if "changed since the session was saved" in line]


@pytest.mark.parametrize("digest", [None, ""])
def test_a_missing_or_null_hash_counts_as_changed(scripted, digest):
    session = Session(model_spec="~/models/net.pt", weights_sha256=digest)
    assert session.code_model_changed()
    assert [line for line in session.check_files() if "no hash" in line]
    data = session.to_dict()
    del data["model"]["weights_sha256"]
    assert Session.from_dict(data).code_model_changed()


def test_embedded_and_torchvision_models_are_not_code(scripted):
    assert code_model_path("default") is None and code_model_path("resnet18") is None
    assert Session(model_spec="mnist-noise").code_model() is None


@pytest.mark.parametrize("bad", [{"images": [{"path": ""}]}, {"images": [{"path": 3}]}, {"model": {"spec": ""}},
                                 {"model": {"spec": "default", "weights": 5}}])
def test_malformed_paths_in_a_session_are_one_line(bad):
    data = Session().to_dict()
    data.update(bad)
    with pytest.raises(SessionError, match="malformed session"):
        Session.from_dict(data)


def test_the_inception_layout_round_trips_through_a_session():
    session = Session(model_spec="inception_v3", weights="random", transform_input=False)
    again = Session.from_dict(session.to_dict())
    assert again.transform_input is False
    data = session.to_dict()
    data["model"]["transform_input"] = "yes"
    with pytest.raises(SessionError, match="transform_input"):
        Session.from_dict(data)


def test_non_utf8_paths_survive_a_session_file(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")
    with open(raw, "wb") as fh:
        fh.write(b"x")
    path = os.fsdecode(raw)
    saved = Session(images=[path], image_sha256=[sha256_file(Path(path))]).save(tmp_path / "s.sgsession")
    saved.read_bytes().decode("utf-8")
    again = Session.load(saved)
    assert again.images == [path] and again.check_files() == []
