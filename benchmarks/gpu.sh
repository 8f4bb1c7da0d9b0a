#!/usr/bin/env bash
# The sampling benchmark on one CUDA GPU, at float16 and at bfloat16, for the tiny demo model, a
# 256x256 DDPM (google/ddpm-celebahq-256's UNet) and an SD-1.5-sized Stable Diffusion, at the
# realistic GPU defaults of benchmarks/sampling.py (tiny: batch 256 x 40 steps; ddpm256: batch 32 x
# 50 steps; sd15: batch 8 x 25 steps at 512x512). Random weights, nothing downloaded. Under 8 minutes
# on one H200 (each run is stopped after RUN_TIMEOUT seconds, default 225).
#
#   bash benchmarks/gpu.sh                  # JSON and logs in ${OUT:-out/gpu}/, then a summary
#   GPU_DRY_RUN=1 bash benchmarks/gpu.sh    # the same on the CPU at float32 with tiny settings
#   MODELS=tiny,sd15 bash benchmarks/gpu.sh # a subset
#
# It creates and activates nothing: it runs ${PYTHON:-.venv/bin/python} (the repository's .venv),
# else python3, which must have the project installed. Exits 1 if any run misses a target.
set -euo pipefail

out=${OUT:-out/gpu}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-.venv/bin/python}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if ! "$PYTHON" -c "import hubaudit" 2>/dev/null; then
    echo "gpu.sh: $PYTHON cannot import hubaudit; create .venv (make demo does) or set PYTHON" >&2
    exit 2
fi

models=${MODELS:-tiny,ddpm256,sd15}
if [[ ${GPU_DRY_RUN:-0} == 1 ]]; then
    device=cpu dtypes=(float32) settings=(--n 1 --batch-size 1 --steps 2 --repeats 1 --rss-n 8 16)
else
    device=cuda dtypes=(float16 bfloat16) settings=()
fi

status=0
for dtype in "${dtypes[@]}"; do
    echo "== sampling benchmark: $device $dtype ($models)"
    rm -f "$out/sampling-$dtype.json"
    if ! timeout "${RUN_TIMEOUT:-225}" "$PYTHON" -u benchmarks/sampling.py --device "$device" --dtype "$dtype" \
        --models "$models" --json "$out/sampling-$dtype.json" ${settings[@]+"${settings[@]}"} 2>&1 \
        | tee "$out/sampling-$dtype.log"; then
        status=1
    fi
done

echo "== summary ($out)"
"$PYTHON" - "${dtypes[@]/#/$out/sampling-}" <<'EOF'
import json, sys
from pathlib import Path

for name in sys.argv[1:]:
    path = Path(name + ".json")
    if not path.exists():
        print(f"{path.name}: missing (the run failed or was stopped; see its .log)")
        continue
    run = json.loads(path.read_text())
    print(f"{run['device']} {run.get('gpu') or ''} {run['dtype']}  torch {run['torch']}  diffusers {run['diffusers']}")
    for model, figures in run["models"].items():
        if "error" in figures:
            print(f"  {model:<8} error: {figures['error']}")
            continue
        peak = figures.get("peak_gpu_mib")
        memory = f"   peak GPU MiB plain {peak['plain']:.0f} / hubaudit {peak['hubaudit']:.0f}" if peak else ""
        print(f"  {model:<8} throughput ratio {figures['throughput_ratio']:.3f}"
              f" ({max(figures['hubaudit_samples_per_second']):.2f} / {max(figures['plain_samples_per_second']):.2f} samples/s)"
              f"   CPU noise {figures['noise_share']:.2%} of a step{memory}")
    memory = run["memory"]
    if "rss_ratio" in memory:
        print(f"  peak RSS ratio n={memory['n'][1]} / n={memory['n'][0]}: {memory['rss_ratio']:.3f}")
    elif "error" in memory:
        print(f"  peak RSS: error: {memory['error']}")
    print(f"  {'all targets met' if run['passed'] else 'targets missed: ' + str(sum(not met for met in run['targets'].values()))}")
EOF
exit "$status"
