"""``edge-lmk models``, ``train`` and ``eval``."""

from __future__ import annotations

import sys

import click

from .common import main, options_again


@main.command("models")
@click.option("--pattern", default="*", show_default=True, help="Shell-style filter on model names.")
@click.option("--no-macs", is_flag=True, help="Skip counting MACs (faster).")
@click.option("--wide", is_flag=True, help="Add the column naming each model's source project.")
def models_cmd(pattern: str, no_macs: bool, wide: bool) -> None:
    """List the model zoo: name, points, input, parameters (ours and the seed's), MACs.

    \b
    Example:
      edge-lmk models
      edge-lmk models --pattern 'mobilenet*' --wide
    """
    from ..errors import EdgeLandmarksError
    from ..models import list_models, zoo_rows
    from ..report import format_table

    if not list_models(pattern):
        raise EdgeLandmarksError(f"no model matches {pattern!r} (the zoo: {', '.join(list_models())})")

    headers = ["name", "scheme", "pts", "input", "params", "seed params", "vs seed", "MACs"]
    headers += ["source"] if wide else []
    rows = []
    rows_data = zoo_rows(pattern, macs=not no_macs)
    for row in rows_data:
        rows.append([
            row["name"], row["scheme"], row["points"], row["input"], f"{row['params']:,}",
            f"{row['seed_params']:,}" if row["seed_params"] else "-",
            row["seed_check"] + (", see below" if row["seed_note"] and row["seed_check"] == "differs" else ""),
            f"{row['macs'] / 1e6:,.0f} M" if row["macs"] is not None else "-",
        ] + ([row["source"]] if wide else []))
    click.echo(format_table(headers, rows))
    click.echo("Seed params: the count the source project publishes for that model and input. The 300W table's counts "
               "(in millions) include an unused ImageNet head that its code keeps registered.")
    for row in rows_data:
        if row["seed_note"]:
            click.echo(f"{row['name']}: {row['seed_note']}")
    more: dict[str, list[str]] = {}
    for row in rows_data:
        for scheme in row["schemes"]:
            if scheme != row["scheme"] and row["model"] not in more.setdefault(scheme, []):
                more[scheme].append(row["model"])
    for scheme, names in more.items():
        click.echo(f"Also as {scheme} (--model-arg scheme={scheme}): {', '.join(names)}")



def _workers(value: str):
    if value == "auto":
        return value
    if not value.isdigit():
        raise click.BadParameter(f"{value!r} is not 'auto' or a count >= 0", param_hint="--workers")
    return int(value)


@main.command("train")
@click.argument("recipe")
@click.option("--data", "data_path", default=None, help="Dataset path or name (default: the recipe's, e.g. demo68).")
@click.option("--epochs", type=click.IntRange(1, 100_000), default=None, help="Override the recipe's epoch count.")
@click.option("--batch-size", "batch_size", type=click.IntRange(min=1), default=None,
              help="Override the recipe's batch: the global batch, shared by all processes under DDP (2 faces a "
                   "process at least).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run folder (default runs/<recipe>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint (any world size), "
              "with every setting it was started with; --epochs, --threads, --device, --amp and --workers may "
              "change, any other option given again must match the run's.")
@click.option("--threads", type=click.IntRange(0, 256), default=None, help="torch threads (default: all cores).")
@click.option("--device", default=None, metavar="auto|cpu|cuda|cuda:N|mps",
              help="Where to train (default: the recipe's, else auto = CUDA, then MPS, then the CPU).")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default=None,
              help="Mixed precision (default auto: bf16 on CUDA devices that support it, off on the CPU).")
@click.option("--workers", default=None, metavar="N|auto",
              help="DataLoader worker processes for decode, crop and augmentation (default auto: up to 8 on a GPU, "
                   "none on the CPU, where the main process already uses every core).")
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="Train on N processes with torch.distributed (DDP): starts torchrun for you (one per GPU; gloo "
                   "on CPUs). The recipe's batch_size is the global batch.")
@click.option("--sync-bn", is_flag=True, default=None, help="Under DDP, BatchNorm statistics over the global batch.")
@click.option("--pretrained", type=click.Choice(["none", "imagenet"]), default=None,
              help="Start the trunk from torchvision's ImageNet weights (ResNet, MobileNetV2/V3 families; read from "
                   "torchvision's cache, $TORCH_HOME).")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Start from an edge-landmarks checkpoint: every tensor whose shape fits is loaded, the rest listed.")
@click.option("--model-arg", "model_args", multiple=True, metavar="KEY=VALUE",
              help="Override a model setting, e.g. --model-arg input_size=224 or --model-arg scheme=ibug68.")
@click.option("--val-split", default=None, metavar="auto|NAME|FRACTION",
              help="Faces to validate on (best.pt, early stopping, plateau schedule). auto (the recipes' default): "
                   "the data's 'val' split, else a seeded 10 % of the training split held out, stratified by subset "
                   "and listed in val_faces.txt; NAME: that split; FRACTION (e.g. 0.2): that part held out.")
@click.option("--max-batches", type=click.IntRange(min=1), default=None,
              help="Stop each epoch after N batches: a quick check that a recipe runs on your data (validation "
                   "still scores every validation face).")
def train_cmd(recipe, data_path, epochs, batch_size, out, resume, threads, device, amp, workers, nproc, sync_bn,
              pretrained, init, model_args, val_split, max_batches) -> None:
    """Train a model from a recipe: a YAML file, or the name of a shipped recipe (demo, xception_ffhq, ...;
    see edge_landmarks/recipes/ and train/README.md).

    Writes best.pt (best validation NME), last.pt (resume point) and metrics.csv into the run folder; checkpoints
    hold CPU tensors wherever the run trained. Ctrl-C stops cleanly; --resume continues with the same results as an
    uninterrupted run.

    \b
    Example:
      edge-lmk train demo --data demo68
      edge-lmk train mobilenetv3_wflw --data ~/WFLW/list_98pt_rect_attr_train.txt --epochs 60
      edge-lmk train resnet18_300w_224 --data ~/300W --device cuda --amp bf16 --pretrained imagenet
      edge-lmk train resnet18_300w_224 --data ~/300W --nproc 4 --sync-bn
      torchrun --nproc-per-node 8 -m edge_landmarks train resnet18_300w_224 --data ~/300W
      edge-lmk train demo --model-arg input_size=224 --init runs/demo/best.pt --out runs/demo_224
    """
    from ..errors import EdgeLandmarksError
    from ..training import load_recipe, train
    from ..training.config import parse_model_arg

    try:  # bounded YAML; a bad one is a usage error (exit 2), as click's own
        parsed = dict(parse_model_arg(item) for item in model_args)
    except EdgeLandmarksError as exc:
        raise click.BadParameter(str(exc).removeprefix("--model-arg "), param_hint="--model-arg") from None
    given = dict(epochs=epochs, batch_size=batch_size, threads=threads, device=device, amp=amp,
                 workers=_workers(workers) if workers is not None else None, sync_bn=sync_bn, pretrained=pretrained,
                 init=init, val_split=val_split, max_batches=max_batches)
    if resume:  # the run as it was started, with what may change on a resume (epochs, threads, device, ...)
        from pathlib import Path

        from ..training import resume_config

        where = Path(out) if out else Path("runs") / Path(recipe).stem
        cfg = resume_config(where, recipe, {**given, "data": data_path, "model_args": parsed or None})
        out, data_path = str(where), None
    else:
        cfg = load_recipe(recipe, **given)
        cfg.model_args = {**cfg.model_args, **parsed}
    if nproc and nproc > 1:
        from ..training.launch import run_torchrun

        sys.exit(run_torchrun(nproc, ["train", recipe, *options_again(click.get_current_context(), skip=("nproc",))]))
    summary = train(cfg, data=data_path, out=out, resume=resume)
    if summary["rank"] != 0:
        return
    if summary.get("stopped_by"):
        click.echo(summary["message"], err=True)
        sys.exit(130)
    click.echo(f"best validation {summary['val_metric']} {summary['best_val_nme']:.4f} after {summary['epochs']} "
               "epochs "
               f"({summary['seconds']:.0f} s on {summary['device']}, amp {summary['amp']}, "
               f"{summary['world_size']} process(es)); checkpoint: {summary['best']}")


@main.command("eval")
@click.argument("model")
@click.option("--data", "data_path", default=None, help="Dataset path or name (default: the data the model was "
              "trained on, from its checkpoint or sidecar; else demo68).")
@click.option("--split", default=None, help="Split (default: the seed's protocol: 300-W common/challenge/full and "
              "its private test; WFLW test and its attribute subsets; else test; where the data has none, the faces "
              "the checkpoint's run held out).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Where to write plots (default: "
              "eval-<model> beside the model; in this folder for the package's shipped model).")
@click.option("--boxes", type=click.Choice(["points", "detector", "video"]), default="points", show_default=True,
              help="Face boxes: the true landmarks' bounding box; the shipped detector's box on the whole image "
                   "(real use on a photo; faces it misses are counted in detection_rate); or the live video's "
                   "search (no tile pyramid: what the demo's tracker starts from).")
@click.option("--vs-seed", "vs_seed", is_flag=False, flag_value="auto", default=None, metavar="[RECIPE]",
              help="Print the seed project's published row beside ours (the recipe's seed_reference; alone: the "
                   "checkpoint's own recipe).")
@click.option("--clips", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Also measure jitter and lag on short clips made from N faces of the main split (a face held "
                   "still, and moving at 1, 3 and 6 px a frame): the model alone, through the demo's tracker, and "
                   "with its smoothing. 0: off.")
@click.option("--flip", is_flag=True, help="Average each face's points with those on its mirror image (test-time "
              "flip augmentation: two model calls per face; LandmarkPredictor(flip=True) does the same).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (key 'nme': mean NME in the scheme's "
              "normalisation, named by 'nme_norm': inter-ocular, or box diagonal for menpo39).")
def eval_cmd(model, data_path, split, out, boxes, vs_seed, clips, flip, as_json) -> None:
    """Evaluate a model in its seed's protocol: NME / FR / AUC per split, NME per facial region and against head
    yaw (with the large-pose faces on their own), a CED plot, a plot of NME against yaw, overlays of the worst faces.

    \b
    Protocols (chosen from the data):
      300-W    common / challenge / full (+ private test): NME % (inter-ocular), FR@0.08, AUC@0.08
      WFLW     test and its 6 attribute subsets: NME %, FR@0.1 %, AUC@0.1
      Kaggle   RMSE px on the held-out rows of training.csv; test.csv -> submission.csv (IdLookupTable.csv beside it)
      Menpo39  NME by the box diagonal; anything else: NME, FR@0.1, AUC@0.1

    \b
    Example:
      edge-lmk eval runs/demo/best.pt --data demo68 --split test --json
      edge-lmk eval runs/mobilenetv2_300w_56/best.pt --data ~/300W --vs-seed
      edge-lmk eval runs/kaggle_cnn1/best.pt --data test.csv
      edge-lmk eval mobilenetv2_56_int8.onnx --data demo68 --split test_wild --boxes detector
      edge-lmk eval mobilenetv2_56_int8.onnx --data demo68 --split test_wild --clips 6
    """
    import json

    from ..evaluation import run_eval
    from ..protocols import PROTOCOLS, our_rows_for_seed, protocol_rows, seed_rows
    from ..report import format_table
    from ..stability import stability_table

    progress = None
    if clips and not as_json:
        def progress(i, n):
            click.echo(f"\rjitter and lag: face {i}/{n}", err=True, nl=i == n)

    result = run_eval(model, data_path, split=split, out=out, boxes=boxes, seed_recipe=vs_seed, clips=clips,
                      progress=progress, flip=flip)
    if as_json:
        click.echo(json.dumps(result))
        return
    if "submission" in result:
        click.echo(f"{result['faces']} faces of {result['data']} predicted; Kaggle submission: {result['submission']}")
        return
    from ..metrics import NORM_LABELS

    protocol = PROTOCOLS[result["protocol"]]
    click.echo(format_table(*protocol_rows(protocol, result["splits"])))
    first = next(iter(result["splits"].values()))
    if protocol.rmse:
        click.echo(f"protocol {protocol.name}: RMSE in pixels of the image; NME {NORM_LABELS[first['nme_norm']]} "
                   "over the faces that have its points.")
    else:
        click.echo(f"protocol {protocol.name}: NME {NORM_LABELS[first['nme_norm']]}; FR and AUC at "
                   f"{protocol.threshold:g} use it.")
    with_regions = {n: m["regions"] for n, m in result["splits"].items() if m.get("regions")}
    if with_regions:
        names = list(next(iter(with_regions.values())))
        click.echo(format_table(["NME by region", *names], [[n, *(f"{r[k]:.4f}" for k in names)]
                                                             for n, r in with_regions.items()]))
    for name, m in result["splits"].items():
        if m.get("by_yaw"):
            rows = [[b["yaw"], b["faces"], f"{b['nme']:.4f}" if b["nme"] is not None else "-"] for b in m["by_yaw"]]
            click.echo(format_table([f"{name}: yaw (deg)", "faces", "NME"], rows))
            click.echo(f"{m['large_pose_faces']} faces with |yaw| >= 30 or |roll| >= 20 (the true points' pose fit)"
                       + (f": split '{name}/large pose'" if m["large_pose_faces"] else ""))
    if "seed_reference" in result:
        ref = result["seed_reference"]
        headers, rows = seed_rows(protocol, ref, ref["recipe"])
        if rows:
            click.echo(format_table(headers, our_rows_for_seed(protocol, result["splits"]) + rows))
            click.echo(f"seed: {ref.get('dataset', 'its data')}, its protocol; ours: {data_path}.")
        else:
            click.echo(f"{ref['recipe']}: the seed publishes no number to compare with.")
    for name, m in result["splits"].items():
        if "detection_rate" in m:
            click.echo(f"{name}: the detector found {100 * m['detection_rate']:.1f} % of the faces ({m['missed']} "
                       "missed, left out of the NME)")
    if "stability" in result:
        click.echo(stability_table(result["stability"]))
    if "note" in result:
        click.echo(f"note: {result['note']}")
    click.echo(f"CED plot: {result['ced_plot']}" if result["ced_plot"] else result["plot_note"])
    if result.get("yaw_plot"):
        click.echo(f"NME against yaw: {result['yaw_plot']}")
