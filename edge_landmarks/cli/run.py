"""``edge-lmk predict`` and ``demo``."""

from __future__ import annotations

import click

from .common import THREADS, main


@main.command("predict")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="[MODEL] IMAGES...")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the overlays (<image stem>_landmarks.jpg); none written without it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the points of every face per image.")
@click.option("--threads", type=THREADS, default=1, show_default=True, help="Runtime threads.")
@click.option("--detector", type=click.Choice(["blazeface", "haar"]), default="blazeface", show_default=True,
              help="Face detector (haar needs OpenCV 4 with its cascade files).")
@click.option("--crop", "whole", is_flag=True, help="Each image is already a face crop: no detection.")
@click.option("--force", is_flag=True, help="Overwrite existing overlays.")
@click.option("--flip/--no-flip", default=None,
              help="Average each face's points with those on its mirror image (two model calls a face). Default: on "
                   "with the shipped accurate model, off with a MODEL given.")
def predict_cmd(inputs, out, as_json, threads, detector, whole, force, flip) -> None:
    """Predict landmarks on images with any artefact (.onnx, .tflite, .xml, .pt); write overlays and JSON.

    With no MODEL (the first argument is an image), the package's accurate model is used: 112 px INT8 with flip
    averaging (the demo's default is the faster 56 px one; train/README.md compares them).

    \b
    Example:
      edge-lmk predict face.jpg                                    # the shipped accurate model (112 px, --flip)
      edge-lmk predict runs/demo/export/mobilenetv2_56_int8.onnx face.jpg group.png --out preds/ --json
    """
    import json

    from ..formats import format_for_path
    from ..runtime.predictor import ACCURATE, default_model, predict_files

    if format_for_path(inputs[0]) is not None:
        artefact, images = inputs[0], inputs[1:]
        if not images:
            raise click.UsageError("give one or more images after the model")
    else:
        artefact, images = None, inputs
    if artefact is None:
        artefact, flip = default_model(size=ACCURATE), True if flip is None else flip
    result = predict_files(artefact, images, out=out, force=force, threads=threads, detector=detector, whole=whole,
                           flip=bool(flip))
    if as_json:
        click.echo(json.dumps(result))
        return
    for entry in result["images"]:
        n = len(entry["faces"])
        to = f" -> {entry['overlay']}" if entry["overlay"] else ""
        click.echo(f"{entry['image']}: {n} face{'s' if n != 1 else ''}{to}")


@main.command("demo")
@click.option("--model", default=None, type=click.Path(dir_okay=False),
              help="Artefact (.onnx, .tflite, .xml, .pt); default: the model shipped in the package.")
@click.option("--camera", type=click.IntRange(0), default=None, help="cv2.VideoCapture camera index (USB webcam).")
@click.option("--picamera", is_flag=True, help="Raspberry Pi camera through picamera2.")
@click.option("--video", type=click.Path(dir_okay=False), default=None, help="A video file.")
@click.option("--headless", is_flag=True,
              help="No window (needed with opencv-python-headless): frames are drawn only for --save or --serve; "
                   "without them the pipeline alone runs and is timed (--json).")
@click.option("--frames", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Annotated video (.mp4, .avi, .mkv), or an image (.jpg, .png) of the last frame with a face.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's statistics as JSON (key 'fps').")
@click.option("--threads", type=THREADS, default=1, show_default=True, help="Runtime threads.")
@click.option("--detector", type=click.Choice(["blazeface", "haar"]), default="blazeface", show_default=True)
@click.option("--no-smooth", is_flag=True, help="Turn the One-Euro smoothing of the points off.")
@click.option("--verify-every", type=click.IntRange(0), default=10, show_default=True,
              help="Check the tracked region with the detector every N frames (0: never).")
@click.option("--max-faces", type=click.IntRange(1), default=None,
              help="Follow at most N faces (default: every face the detector finds; new faces that come into view "
                   "are looked for every 30 frames).")
@click.option("--size", default="640x480", show_default=True, help="Camera resolution WxH.")
@click.option("--force", is_flag=True, help="Overwrite --save if it exists.")
@click.option("--accurate", is_flag=True,
              help="The shipped 112 px model with flip averaging instead of the fast 56 px one: lower error on "
                   "turned faces (train/README.md), two calls of the larger model a face.")
@click.option("--serve", is_flag=False, flag_value="127.0.0.1:8000", default=None, metavar="[HOST:]PORT",
              help="Stream to a browser instead of a window (headless Pis): the page, /stream.mjpg and "
                   "/landmarks.json. --serve alone is 127.0.0.1:8000 (this machine only); --serve 0.0.0.0:8000 "
                   "opens it to the network. A video file loops at its frame rate.")
def demo_cmd(model, camera, picamera, video, headless, frames, save, as_json, threads, detector, no_smooth,
             verify_every, max_faces, size, force, accurate, serve) -> None:
    """Camera demo: detect, track, predict and draw landmarks live (picamera2, webcam or video file).

    Every face in view is followed. A window needs an OpenCV with GUI support (pip install 'edge-landmarks[gui]');
    the default install is headless: use --serve (a browser) or --headless --save FILE there.

    \b
    Example:
      edge-lmk demo --camera 0                                      # the shipped model, in a window
      edge-lmk demo --camera 0 --accurate                           # the 112 px model: turned faces
      edge-lmk demo --model mobilenetv2_56_int8.onnx --camera 0 --max-faces 1   # follow one face only
      edge-lmk demo --picamera --serve 0.0.0.0:8000                 # headless Pi: open http://<pi>:8000
      edge-lmk demo --model mobilenetv2_56_int8.tflite --picamera --headless --save run.mp4 --frames 300
      edge-lmk data video --out faces.mp4 && edge-lmk demo --model mobilenetv2_56_int8.onnx --video faces.mp4 \\
          --headless --json
    """
    import json

    from ..runtime.camera_demo import DemoSettings, run_demo

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected WxH such as 640x480, got {size!r}", param_hint="--size") from None
    if accurate and model is not None:
        raise click.UsageError("--accurate picks the shipped 112 px model: give it or --model, not both")
    if model is None:
        from ..runtime.predictor import ACCURATE, default_model

        model = default_model(size=ACCURATE) if accurate else default_model()
    settings = DemoSettings(camera=camera, picamera=picamera, video=video, headless=headless, frames=frames,
                            save=save, force=force, threads=threads, detector=detector, smoothing=not no_smooth,
                            verify_every=verify_every, max_faces=max_faces, width=width, height=height, serve=serve,
                            flip=accurate)
    stats = run_demo(model, settings, log=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(stats))
        return
    ms = "  ".join(f"{k} {v:.2f}" for k, v in stats["ms_per_frame"].items())
    click.echo(f"{stats['frames']} frames, {stats['faces']} with a face (at most {stats['most_faces']}), "
               f"{stats['detections']} detections: "
               f"{stats['fps']:.1f} FPS (ms per frame: {ms})" + (f"; saved {stats['saved']}" if stats["saved"] else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
