"""Image recipes: tags follow the recipe, so images are rebuilt exactly when it changes."""

import shutil
import subprocess

import pytest

from labkit.lab import images, paths

pytestmark = pytest.mark.machine


@pytest.fixture
def recipe_copy(tmp_path):
    copy = tmp_path / "oci-like"
    shutil.copytree(paths.IMAGES_DIR / "oci-like", copy)
    return copy


def test_tag_is_stable_for_an_unchanged_recipe(recipe_copy) -> None:
    flavour = images.FLAVOURS["debian12"]
    assert images.oci_like_tag(flavour, recipe_copy) == images.oci_like_tag(flavour)


def test_tag_changes_when_a_recipe_file_changes(recipe_copy) -> None:
    flavour = images.FLAVOURS["debian12"]
    before = images.oci_like_tag(flavour, recipe_copy)
    drop_in = recipe_copy / "files" / "50-cloud-init.conf"
    drop_in.write_text(drop_in.read_text() + "# changed\n")
    assert images.oci_like_tag(flavour, recipe_copy) != before


def test_tag_changes_when_a_recipe_file_is_added(recipe_copy) -> None:
    flavour = images.FLAVOURS["debian12"]
    before = images.oci_like_tag(flavour, recipe_copy)
    (recipe_copy / "files" / "extra.conf").write_text("x\n")
    assert images.oci_like_tag(flavour, recipe_copy) != before


def test_flavours_have_distinct_bases() -> None:
    tags = {images.base_tag(flavour) for flavour in images.FLAVOURS.values()}
    assert len(tags) == len(images.FLAVOURS)


def test_unknown_flavour_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="ubuntu99"):
        images.build(["ubuntu99"])


@pytest.mark.parametrize("name", sorted(images.FLAVOURS))
def test_built_image_carries_its_recipe_tag(name: str) -> None:
    """The moving alias molecule uses points at the image of the current recipe."""
    flavour = images.FLAVOURS[name]

    def image_id(tag: str) -> str:
        return subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Id}}", tag], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert image_id(images.alias_tag(flavour)) == image_id(images.oci_like_tag(flavour))
