"""A blend without some of its members, to measure what they add (an ablation).

Run:  .venv/bin/python scripts/drop_member.py BLEND_SPEC NAME OUT_DIR MEMBER_SPEC [MEMBER_SPEC ...]

Writes OUT_DIR/NAME.spec.json and OUT_DIR/NAME.blend.json: BLEND_SPEC's blend without the named
members (their spec file names, as the blend file lists them), every kept member's files copied
beside it. A dropped member's term is replaced by its mean on the blend's fitting crops, its
`center`: the bias grows by weight x center, so the kept members' evidence reads as before.
Thresholds, calibration and the track head are kept as they are (not refitted); the spec's
`metrics` are emptied (they were the whole blend's). A member that gives the track head a part
(two output columns) is refused: without it the head would read a different value. Judge the
result as any model: `deepfake-analyzer evaluate ... --protocol --model OUT_DIR/NAME.spec.json
--baseline RUN`, and time it with `benchmarks/bench_models_ab.py`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from mesh_feature_probe import write_variant

from deepfake_analyzer.models.blend import Blend
from deepfake_analyzer.models.registry import architecture_columns
from deepfake_analyzer.models.spec import ModelSpec


def dropped(blend: Blend, names: set[str], source: str) -> Blend:
    """`blend` (of the spec file `source`) without the members whose spec is in `names`
    (module docstring); ValueError when one is missing or has no center."""
    missing = names - {m.spec for m in blend.members}
    if missing:
        raise ValueError(f"not members of the blend: {', '.join(sorted(missing))}")
    gone = [m for m in blend.members if m.spec in names]
    if any(m.center is None for m in gone):
        raise ValueError("a dropped member has no center: its mean term is unknown")
    bias = blend.bias + sum(m.weight * float(m.center or 0.0) for m in gone)
    training = {**blend.training, "members_dropped": sorted(names), "bias_before": blend.bias,
                "members_dropped_from": source}  # fmt: skip
    kept = tuple(m for m in blend.members if m.spec not in names)
    return replace(blend, members=kept, bias=bias, training=training)


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    spec_path, name, out = Path(argv[0]), argv[1], Path(argv[2])
    spec = ModelSpec.load(spec_path)
    blend = dropped(Blend.load(spec_path.parent / spec.weights_file), set(argv[3:]), spec_path.name)
    for name_of in argv[3:]:
        member_spec = ModelSpec.load(spec_path.parent / name_of)
        if blend.track is not None and architecture_columns(member_spec.architecture) == 2:
            print(f"{name_of} gives the track head a part: not dropped", file=sys.stderr)
            return 1
    write_variant(spec_path, blend, name, out)
    print(f"{out / name}.spec.json: {len(blend.members)} members, bias {blend.bias:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
