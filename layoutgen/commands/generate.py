"""`layoutgen generate DIR`: the simulated chip of a character model writes text for several streams."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ._common import pdk_root_from_env, user_errors
from ..errors import LayoutgenError


@click.command("generate")
@click.argument("chip_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--prompt", "-p", "prompts", multiple=True, required=True,
              help="Prompt text; repeat for several prompts (stream s gets prompt s mod the number given).")
@click.option("--streams", "-s", type=click.IntRange(min=1), default=None,
              help="Streams to run at once (at most the chip's P) [default: one per prompt].")
@click.option("--tokens", "-n", default=60, show_default=True, type=click.IntRange(min=1),
              help="Characters to generate per stream.")
@click.option("--follow", is_flag=True, help="Print every token as it leaves the chip (cycle, stream, character).")
@click.option("--iverilog", "iverilog_tokens", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also run the chip's Verilog in Icarus Verilog for N tokens per stream and compare.")
@click.option("--pdk", "pdk_name", default="sky130", show_default=True, help="Process design kit of the chip.")
@user_errors
def command(chip_dir, prompts, streams, tokens, follow, iverilog_tokens, pdk_name):
    """Run the chip in CHIP_DIR (from `layoutgen lmbuild`) cycle by cycle on the prompts.

    Every clock one character leaves the chip for one stream; each stream's next input is made on
    chip from its own output. Prints each stream's text, checks it token for token against the numpy
    reference generation of the integer model, and reports the throughput. Exit code 0 if identical,
    1 on a mismatch, 2 on bad input (e.g. a prompt character outside the vocabulary).
    """
    from ..charlm.chipdir import load_chip_dir
    from ..charlm.generation import ChipSession, chip_generate, chip_reference, check_prompts
    from ..pdk import load_pdk

    pdk = load_pdk(pdk_name)
    folder = load_chip_dir(chip_dir, pdk)
    chip, spec, rep = folder.chip, folder.chip.spec, folder.report
    encoded = [spec.encode(p, "--prompt") for p in prompts]
    n_streams = streams or len(encoded)
    if len(encoded) > n_streams:
        raise LayoutgenError(f"{len(encoded)} prompts for {n_streams} streams; give at most one prompt per stream "
                             f"or raise --streams (the chip serves {chip.streams})")
    stream_prompts = [encoded[s % len(encoded)] for s in range(n_streams)]
    check_prompts(stream_prompts, chip.streams)
    session = ChipSession(chip)

    def show(events):
        for cycle, s, tok in events:
            click.echo(f"cycle {cycle:6d}  stream {s:2d}  {spec.decode([tok])!r}")

    gen = chip_generate(chip, stream_prompts, tokens, session=session, on_round=show if follow else None)
    ref = chip_reference(chip, folder.model, stream_prompts, tokens)
    bad = [s for s in range(n_streams) if gen.tokens[s] != ref[s]]
    for s in range(n_streams):
        text = spec.decode(stream_prompts[s]) + "|" + spec.decode(gen.tokens[s])
        click.echo(f"[{s}] {text}")
    P = chip.streams
    click.echo(
        f"{n_streams} of {P} streams x {tokens} tokens in {gen.cycles} cycles "
        f"({gen.n_tokens / gen.seconds:.0f} tokens/s of simulation wall time); on silicon: "
        f"{rep['tokens_per_s_tt'] / 1e6:.0f}M tokens/s tt / {rep['tokens_per_s_ss'] / 1e6:.0f}M ss in total, "
        f"{rep['tokens_per_s_per_stream_tt'] / 1e6:.1f}M / {rep['tokens_per_s_per_stream_ss'] / 1e6:.1f}M per stream, "
        f"one token per stream every {P} cycles ({rep['token_latency_ns_tt']:.0f} ns tt, "
        f"{rep['token_latency_ns_ss']:.0f} ns ss)"
    )
    ok = not bad
    if iverilog_tokens:
        from ..charlm.iverilog import run_chip_iverilog
        from ..pdk.views import locate_cell_views

        views = locate_cell_views(pdk.library.name, pdk_root_from_env())
        iv = run_chip_iverilog(chip, stream_prompts, iverilog_tokens, views)
        iv_bad = [s for s in range(n_streams) if iv[s] != gen.tokens[s][:iverilog_tokens]]
        click.echo(f"iverilog: {'identical' if not iv_bad else 'MISMATCH on stream ' + str(iv_bad[0])} "
                   f"for {iverilog_tokens} tokens per stream")
        ok = ok and not iv_bad
    if ok:
        click.echo("identical to the numpy reference, token for token")
        return
    s = bad[0] if bad else 0
    if bad:
        click.echo(f"MISMATCH on {len(bad)} streams; stream {s}: reference {spec.decode(ref[s])!r}")
    sys.exit(1)
