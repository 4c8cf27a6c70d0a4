#!/usr/bin/env bash
# Static checks of the deployment files, without a Docker engine or a cluster:
#   - docker-compose.yml validates against the Compose specification (docker-compose 1.29.2's schema,
#     `docker-compose config -q`), lists the expected services, and the web UI only with `--profile ui`;
#   - every deploy/kubernetes/*.yaml parses (PyYAML) and carries the expected kinds and fields.
# The tools come from .deps/venv (scripts/setup.sh). Exits non-zero on the first problem.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.deps/venv"
if [ ! -x "$VENV/bin/docker-compose" ]; then
  echo "check-deploy: $VENV/bin/docker-compose missing; run scripts/setup.sh" >&2
  exit 2
fi
cd "$ROOT"
# No Docker engine is contacted by `config`; keep the user's environment out of interpolation.
export COMPOSE_PROJECT_NAME=catena
unset DOCKER_HOST COMPOSE_FILE COMPOSE_PROFILES || true

"$VENV/bin/docker-compose" -f docker-compose.yml config -q
RESOLVED="$(mktemp)"
trap 'rm -f "$RESOLVED"' EXIT
"$VENV/bin/docker-compose" -f docker-compose.yml config >"$RESOLVED"

"$VENV/bin/python" - "$RESOLVED" <<'PY'
import glob, os, sys, yaml

problems = []
def need(ok, what):
    if not ok:
        problems.append(what)

# ---- compose: the file as `docker-compose config` resolved it
services = yaml.safe_load(open(sys.argv[1]))["services"]
default_services = {n for n, s in services.items() if not s.get("profiles")}
need(services.get("kafka-ui", {}).get("profiles") == ["ui"], "kafka-ui only starts with --profile ui")
need(set(services) == default_services | {"kafka-ui"}, "no other service is in a profile")
chain_file = services["coordinator"]["environment"]["CATENA_CHAIN"]
chain = yaml.safe_load(open(chain_file.replace("/app/", "", 1)))
steps = [s["name"] for s in chain["steps"]]
need(default_services == {"kafka", "topics", "coordinator", *steps}, f"services {sorted(default_services)} vs steps {steps}")
for name in steps:
    s = services[name]
    need("container_name" not in s and "ports" not in s, f"{name}: no container_name or ports, so --scale works")
    need(s["environment"].get("CATENA_STEP") == name, f"{name}: CATENA_STEP")
    need(s["depends_on"]["topics"]["condition"] == "service_completed_successfully", f"{name}: waits for topics")
    need("healthcheck" in s and "stop_grace_period" in s and s.get("restart") == "unless-stopped", f"{name}: healthcheck, grace, restart")

# ---- kubernetes
expected_kinds = {"ConfigMap": "v1", "Job": "batch/v1", "Deployment": "apps/v1", "ScaledObject": "keda.sh/v1alpha1",
                  "Kustomization": "kustomize.config.k8s.io/v1beta1"}
files = sorted(glob.glob("deploy/kubernetes/*.yaml"))
need(files, "deploy/kubernetes has manifests")
by_kind = {}
for path in files:
    docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
    need(len(docs) == 1, f"{path}: one resource per file")
    for d in docs:
        kind = d.get("kind")
        need(expected_kinds.get(kind) == d.get("apiVersion"), f"{path}: kind {kind} with apiVersion {d.get('apiVersion')}")
        if kind != "Kustomization":
            need(bool(d.get("metadata", {}).get("name")), f"{path}: metadata.name")
        by_kind.setdefault(kind, []).append((path, d))

kust = by_kind.get("Kustomization", [])
need(len(kust) == 1, "one kustomization.yaml")
if kust:
    listed = set(kust[0][1]["resources"])
    present = {os.path.basename(p) for p in files} - {"kustomization.yaml"}
    need(listed == present, f"kustomization lists every manifest: {sorted(listed ^ present)}")

deployments = {d["metadata"]["name"]: d for _, d in by_kind.get("Deployment", [])}
scaled = {d["metadata"]["name"]: d for _, d in by_kind.get("ScaledObject", [])}
partitions = chain.get("partitions", 6)
for name, d in deployments.items():
    spec = d["spec"]
    need(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(), f"{name}: selector matches pod labels")
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    need(c.get("image") and c.get("args"), f"{name}: container image and args")
    need(pod.get("terminationGracePeriodSeconds", 0) >= 30, f"{name}: terminationGracePeriodSeconds")
    need("readinessProbe" in c, f"{name}: readinessProbe")
for step in steps:
    worker = next((d for d in deployments.values() if d["metadata"]["labels"].get("catena.dev/step") == step), None)
    need(worker is not None, f"a Deployment for step {step}")
    so = next((d for d in scaled.values() if d["metadata"]["labels"].get("catena.dev/step") == step), None)
    need(so is not None, f"a ScaledObject for step {step}")
    if worker and so:
        need(so["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"], f"{step}: ScaledObject targets its Deployment")
        need(so["spec"]["maxReplicaCount"] == partitions, f"{step}: maxReplicaCount == partitions ({partitions})")
        t = so["spec"]["triggers"][0]
        need(t["type"] == "kafka" and t["metadata"]["consumerGroup"] == f"catena.{chain['chain']}.{step}"
             and t["metadata"]["topic"] == f"{chain['chain']}.{step}", f"{step}: lag trigger on its group and topic")
        need(all(isinstance(v, str) for v in t["metadata"].values()), f"{step}: trigger metadata values are strings")
need(any(d["metadata"]["labels"].get("app.kubernetes.io/component") == "coordinator" for d in deployments.values()), "a coordinator Deployment")
need(len(by_kind.get("Job", [])) == 1, "a topics Job")

if problems:
    print("check-deploy: " + "\n  ".join(["problems:"] + problems), file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: docker-compose.yml valid ({len(default_services)} services, and kafka-ui with --profile ui); "
      f"{len(files)} Kubernetes manifests OK ({', '.join(f'{len(v)} {k}' for k, v in sorted(by_kind.items()))})")
PY
