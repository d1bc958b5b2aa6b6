"""`layoutgen quantize MODEL --out FILE.int.npz`: a float .npz or ONNX model -> int-v1, with accuracy."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import LayoutgenError
from ..model import accuracy_report, load_model_with_info, save_int_model
from ..model.quantizer import quantization_summary
from ._common import user_errors


@click.command("quantize")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Integer model to write (.int.npz).")
@click.option("--weight-bits", type=int, default=None, help="Weight bits: 2 (ternary), 3, 4 or 8 (default 4).")
@click.option("--act-bits", type=int, default=None, help="Unsigned activation bits, 1-8 (default 8).")
@click.option("--calib", type=click.Path(path_type=Path), default=None,
              help="Data .npz (X or X_calib/X_test, optional labels y); default <stem>.data.npz beside MODEL.")
@user_errors
def command(model: Path, out: Path, weight_bits: int | None, act_bits: int | None, calib: Path | None) -> None:
    """Quantize MODEL (float .npz, ONNX, or an int-v1 model to check) into a layoutgen-int-v1 file."""
    if out.resolve() == model.resolve():
        raise LayoutgenError(f"{out}: --out must differ from the input model")
    loaded = load_model_with_info(model, weight_bits=weight_bits, act_bits=act_bits, calib=calib)
    report = accuracy_report(loaded.int_model, loaded.data, loaded.float_model) if loaded.data is not None else None
    save_int_model(loaded.int_model, out)
    for note in loaded.notes:
        click.echo(f"layoutgen: note: {note}", err=True)
    im = loaded.int_model
    sizes = "-".join(str(n) for n in [im.n_inputs] + [layer.n_out for layer in im.layers])
    if loaded.kind == "int-v1":
        click.echo(f"{model} is already an integer model ({sizes}, {im.n_weights} weights); wrote {out}")
    else:
        click.echo(
            f"quantized {model} ({loaded.kind}, {sizes}, {im.n_weights} weights) to "
            f"{quantization_summary(loaded.weight_bits, loaded.act_bits)}: wrote {out}"
        )
        click.echo(f"calibration: {loaded.calibration}")
    if report is not None:
        line = f"accuracy on {report['data']}:{report['split']} ({report['samples']} samples): "
        if report["float_accuracy"] is not None:
            line += f"float {report['float_accuracy']:.4f}, integer {report['int_accuracy']:.4f}, agreement {report['agreement']:.4f}"
        else:
            line += f"integer {report['int_accuracy']:.4f}"
        click.echo(line)
