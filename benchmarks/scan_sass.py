"""Compile the Triton scan kernel for a GPU architecture offline and report its registers and the
instructions of its time loop (no GPU needed: Triton's own ptxas and nvdisasm do the work).

    python benchmarks/scan_sass.py                      # both passes, MambaIR v1's four routes, bf16
    python benchmarks/scan_sass.py --set PREFETCH=1 --set BLOCK_D=16 --dtype float32

Registers decide how many warps an SM holds (65536 / (32 · registers)); the loop's instruction count and
mix say what one step costs. The step-cost figures quoted in ``restore_cli/ops/scan/triton.py`` come from
this script (sm_90). Counting is static: a real run issues each loop instruction once per
step of every warp, so fewer instructions per step is necessary but not sufficient for a faster kernel.
"""

from __future__ import annotations

import argparse
import inspect
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

POINTERS = ("u_ptr", "dt_ptr", "A_ptr", "B_ptr", "C_ptr", "D_ptr", "bias_ptr", "z_ptr", "y_ptr", "h0_ptr",
            "hend_ptr", "dtsum_ptr", "w_ptr")
FLOAT32_POINTERS = {"A_ptr", "D_ptr", "bias_ptr", "y_ptr", "h0_ptr", "hend_ptr", "dtsum_ptr", "w_ptr"}


def compile_pass(output_pass: bool, dtype: str, overrides: dict[str, object], arch: int, num_warps: int,
                 maxnreg: int | None = None) -> bytes:
    """The cubin of the chunk-end pass (``output_pass`` False) or the output pass of the cross scan."""
    import torch
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from restore_cli.ops.scan.triton import _scan_chunk_kernel, bc_pairs

    params = list(inspect.signature(_scan_chunk_kernel.fn).parameters)
    # Unit strides are specialised to the constant 1 at launch (as Triton's JIT does for integer
    # arguments equal to 1); without that the compiler cannot see that channels are contiguous and lays
    # the tile out states across threads, a different and much longer kernel than the one that runs.
    constants: dict[str, object] = dict(s_Ad=1, s_ud=1, s_td=1, s_yd=1, s_Bn=1, s_Cn=1, s_zd=1, s_wd=1)
    constants.update(
        N=16, N_PAD=16, BLOCK_D=64, HAS_D=True, HAS_BIAS=False, SOFTPLUS=True, HAS_Z=False, LOAD_H0=output_pass,
        STORE_Y=output_pass, STORE_END=not output_pass, CROSS=True, PREFETCH=2, BC_VEC=True, ROUTE_LANES=1,
        RANK=0, R_PAD=1, R_VEC=False, R_FROM_B=False, R_PAIRS=False,
    )
    constants.update(overrides)
    # as the launcher sets it (restore_cli.ops.scan.triton._run), unless overridden
    constants.setdefault("FMA_SOFTPLUS", bool(not output_pass and constants["CROSS"]
                                              and constants["BLOCK_D"] >= 64 * num_warps))
    storage_dtype = getattr(torch, dtype)
    constants.setdefault("BC_PAIRS", bc_pairs(bool(constants["BC_VEC"]), (storage_dtype, storage_dtype),
                                              int(constants["BLOCK_D"]) // (32 * num_warps),
                                              cross=bool(constants["CROSS"])))
    storage = {"float32": "*fp32", "bfloat16": "*bf16", "float16": "*fp16"}[dtype]
    signature = {p: "constexpr" if p in constants else
                 ("*fp32" if p in FLOAT32_POINTERS else storage) if p in POINTERS else "i32" for p in params}
    # pointers 16-byte aligned, as PyTorch allocates them (Triton specialises on that at launch)
    attrs = {(i,): [["tt.divisibility", 16]] for i, p in enumerate(params) if p in POINTERS}
    source = ASTSource(_scan_chunk_kernel, signature, {(params.index(k),): v for k, v in constants.items()}, attrs)
    options: dict[str, object] = {"num_warps": num_warps}
    if maxnreg:
        options["maxnreg"] = maxnreg
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options).asm["cubin"]


def nvidia_tool(name: str) -> str:
    """Path of a CUDA binary shipped inside Triton's NVIDIA backend."""
    import triton

    return str(Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name)


def loop_mix(sass: str) -> tuple[int, Counter]:
    """Instruction count and opcode mix of the longest loop (a block closed by a backward branch)."""
    labels: dict[str, int] = {}
    instructions: list[str] = []
    for line in sass.splitlines():
        label = re.match(r"^(\.L_x_\d+):", line)
        if label:
            labels[label.group(1)] = len(instructions)
        elif re.search(r"/\*[0-9a-f]{4}\*/", line):
            instructions.append(line)
    best: list[str] = []
    for i, line in enumerate(instructions):
        branch = re.search(r"BRA\s+`?\(?(\.L_x_\d+)", line)
        if branch and labels.get(branch.group(1), i + 1) <= i:
            body = instructions[labels[branch.group(1)] : i + 1]
            best = body if len(body) > len(best) else best
    opcodes = Counter()
    for line in best:
        text = re.search(r"/\*[0-9a-f]{4}\*/\s+(.*?)\s*;?\s*(/\*.*)?$", line).group(1)
        opcodes[re.sub(r"^@!?U?P\w+\s+", "", text).split()[0].split(".")[0]] += 1
    return len(best), opcodes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bfloat16", choices=("float32", "bfloat16", "float16"),
                        help="storage type of u, δ, B, C")
    parser.add_argument("--set", action="append", default=[], metavar="CONST=VALUE",
                        help="override a kernel constant (PREFETCH, BLOCK_D, BC_VEC, CROSS, ...)")
    parser.add_argument("--arch", type=int, default=90, help="compute capability as an integer (90 = H100)")
    parser.add_argument("--num-warps", type=int, default=1)
    parser.add_argument("--maxnreg", type=int, default=None,
                        help="cap the registers per thread of both passes (ptxas); by default the output pass "
                             "gets the launcher's cap (output_pass_maxnreg), the chunk-end pass none")
    args = parser.parse_args(argv)
    try:
        import triton  # noqa: F401
    except ImportError:
        parser.error("needs Triton (it comes with PyTorch's CUDA builds, or `pip install triton`)")
    overrides: dict[str, object] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected CONST=VALUE")
        overrides[key] = {"True": True, "False": False}.get(value, int(value) if value.lstrip("-").isdigit() else value)
    if "PREFETCH" not in overrides:  # as the launcher picks it
        from restore_cli.ops.scan.triton import default_prefetch

        per_thread = overrides.get("BLOCK_D", 64) // (32 * args.num_warps)
        overrides["PREFETCH"] = default_prefetch(per_thread, route_blocks=bool(overrides.get("CROSS", True))
                                                 and overrides.get("ROUTE_LANES", 1) == 1)
    steps_per_iteration = max(1, int(overrides["PREFETCH"]))
    print(f"sm_{args.arch}, {args.dtype}, {args.num_warps} warp(s), constants {overrides or 'default'}")
    channels_per_thread = overrides.get("BLOCK_D", 64) / (32 * args.num_warps)
    print(f"{'pass':<10} {'registers':>9} {'loop instr':>10} {'per step':>9} {'per channel-step':>16}  top opcodes")
    from restore_cli.ops.scan.triton import output_pass_maxnreg

    launcher_cap = output_pass_maxnreg(int(channels_per_thread), cross=bool(overrides.get("CROSS", True)),
                                       channel_last=True, route_lanes=overrides.get("ROUTE_LANES", 1) > 1,
                                       n_state=int(overrides.get("N", 16)))
    for output_pass in (False, True):
        maxnreg = args.maxnreg or (launcher_cap if output_pass else None)
        cubin = compile_pass(output_pass, args.dtype, overrides, args.arch, args.num_warps, maxnreg)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "scan.cubin"
            path.write_bytes(cubin)
            usage = subprocess.run([nvidia_tool("cuobjdump"), "-res-usage", str(path)], capture_output=True,
                                   text=True, check=True).stdout
            sass = subprocess.run([nvidia_tool("nvdisasm"), "-c", str(path)], capture_output=True, text=True,
                                  check=True).stdout
        registers = re.search(r"REG:(\d+)", usage).group(1)
        count, mix = loop_mix(sass)
        top = ", ".join(f"{op} {n}" for op, n in mix.most_common(8))
        name = "output" if output_pass else "chunk-end"
        per_step = count / steps_per_iteration
        print(f"{name:<10} {registers:>9} {count:>10} {per_step:>9.0f} {per_step / channels_per_thread:>16.0f}  {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
