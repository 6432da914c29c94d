"""fsutils.batch: output names that cannot collide."""
from __future__ import annotations

from pathlib import Path

from fsutils.batch import name_photos
from fsutils.results import SAVE_KINDS


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def names(paths) -> list[str]:
    return [p.name for p in name_photos(paths)[0]]


def test_unique_stems_keep_their_stem(tmp_path):
    assert names([touch(tmp_path / "a.jpg"), touch(tmp_path / "b.png")]) == ["a", "b"]


def test_shared_stems_take_the_extension_then_as_many_folders_as_needed(tmp_path):
    paths = [touch(tmp_path / "x" / "one" / "a.png"), touch(tmp_path / "y" / "one" / "a.png"),
             touch(tmp_path / "x" / "one" / "a.jpg"), touch(tmp_path / "b.png")]
    assert names(paths) == ["x_one_a.png", "y_one_a.png", "a.jpg", "b"]


def test_a_stem_that_is_another_photos_file_name_is_told_apart(tmp_path):
    # "a.png.jpg" has the stem "a.png", the name "a.png" takes when it must tell itself apart
    paths = [touch(tmp_path / "a.png"), touch(tmp_path / "a.jpg"), touch(tmp_path / "a.png.jpg")]
    got = names(paths)
    assert len({n.casefold() for n in got}) == 3, got
    assert got[1] == "a.jpg"


def test_names_that_differ_in_case_alone_are_numbered(tmp_path):
    paths = [touch(tmp_path / "a.png"), touch(tmp_path / "A.PNG")]
    photos, notes = name_photos(paths)
    assert [p.name for p in photos] == ["a", "A-2"]
    assert len(notes) == 1 and "a_…, A-2_…" in notes[0]


def test_the_same_file_given_twice_is_done_once(tmp_path):
    a = touch(tmp_path / "a.png")
    (tmp_path / "link.png").symlink_to(a)
    photos, notes = name_photos([a, tmp_path / "." / "a.png", tmp_path / "link.png"])
    assert [p.path for p in photos] == [a] and [p.name for p in photos] == ["a"]
    assert notes == [f"note: {a} is given 3 times (also as {tmp_path / 'link.png'}): "
                     "it is done once"]


def test_no_kind_ends_with_another_kind_so_different_names_never_share_a_file():
    from fsutils.data import INSTANCE_CLASSES
    from fsutils.segment import CLASS_NAMES

    kinds = [*SAVE_KINDS, *(f"mask_{n.replace(' ', '_')}" for n in CLASS_NAMES[1:]),
             *(f"mask_{n}" for n in INSTANCE_CLASSES)]
    assert not [(k, j) for k in kinds for j in kinds if k != j and k.endswith("_" + j)]
