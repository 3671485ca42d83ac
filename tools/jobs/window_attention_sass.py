"""Compile the window-attention kernel for sm_90 offline and count its SASS (no GPU: Triton's ptxas,
nvdisasm and cuobjdump). Integer arguments that PyTorch's strides make multiples of 16 are marked so, as
Triton's launcher specialises them; MambaIRv2 light's shape (heads of 12, windows of 16x16), bf16.

    python tools/jobs/window_attention_sass.py
"""

from __future__ import annotations

import inspect
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from restore_cli.ops.window_attention.triton import _window_attention_kernel

POINTERS = {"qkv_ptr": "*bf16", "bias_ptr": "*fp32", "out_ptr": "*bf16"}
MULTIPLES_OF_16 = {"s_qb", "s_qh", "s_qw", "s_ob", "s_oh", "s_ow", "channels"}


def tool(name: str) -> str:
    return str(Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name)


def main() -> None:
    params = list(inspect.signature(_window_attention_kernel.fn).parameters)
    for masked in (False, True):
        constants = dict(WS=16, N=256, BLOCK_M=64, BLOCK_N=64, BLOCK_D=16, MASKED=masked, IEEE=False)
        if "HEAD_DIM" in params:
            constants["HEAD_DIM"] = 12
        signature = {p: "constexpr" if p in constants else POINTERS.get(p, "fp32" if p == "scale" else "i32")
                     for p in params}
        attrs = {(i,): [["tt.divisibility", 16]] for i, p in enumerate(params) if p in POINTERS or p in MULTIPLES_OF_16}
        source = ASTSource(_window_attention_kernel, signature,
                           {(params.index(k),): v for k, v in constants.items()}, attrs)
        kernel = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": 4})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "kernel.cubin"
            path.write_bytes(kernel.asm["cubin"])
            sass = subprocess.run([tool("nvdisasm"), "-c", str(path)], capture_output=True, text=True,
                                  check=True).stdout
            usage = subprocess.run([tool("cuobjdump"), "-res-usage", str(path)], capture_output=True, text=True,
                                   check=True).stdout
        ops = Counter(m.group(1) for line in sass.splitlines()
                      if (m := re.search(r"\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]+)", line)))
        loads = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()) if op.startswith(("LDG", "STS")))
        registers = re.search(r"REG:(\d+)", usage).group(1)
        print(f"masked {masked}: {registers} registers, {sum(ops.values())} instructions; {loads}")


if __name__ == "__main__":
    main()
