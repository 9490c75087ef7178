# shellcheck shell=bash
# Container images for the local node, assembled from this machine's Debian
# packages into OCI archives and imported into containerd: no registry.
#
#   pagoda.local/pause:1    sandbox process (local-cluster/images/pause)
#   pagoda.local/nginx:1    Debian nginx, runs as uid 101, listens on 8080
#   pagoda.local/busybox:1  busybox-static: sh, wget, sha256sum, tar, ...
#   pagoda.local/acmesolver:1  cert-manager's HTTP-01 solver (TLS tier only)
#   pagoda.local/pool:<tag> the shared serving pool: Node + the agent bundle
#                           + Debian nginx (only on request: pool-image)

PAUSE_IMAGE=pagoda.local/pause:1
NGINX_IMAGE=pagoda.local/nginx:1
BUSYBOX_IMAGE=pagoda.local/busybox:1
ACMESOLVER_IMAGE=pagoda.local/acmesolver:1
# The TLS tier adds acmesolver.
IMAGE_NAMES=(pause nginx busybox)

images_dir() { echo "$(cache_root)/images"; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# oci_archive <out.tar> <image ref> <rootfs dir> <image config JSON ("config" object)>
oci_archive() {
  local out=$1 ref=$2 rootfs=$3 config=$4
  local work; work=$(mktemp -d)
  mkdir -p "$work/blobs/sha256"
  # Sorted, numeric owners and a fixed mtime: the same inputs give the same digest.
  tar --sort=name --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" . ||
    die "could not pack the rootfs of $ref"
  local layer_digest layer_size
  layer_digest=$(sha256_of "$work/layer.tar"); layer_size=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$work/blobs/sha256/$layer_digest"
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(go_arch)" "$config" "$layer_digest" >"$work/config.json"
  local config_digest config_size
  config_digest=$(sha256_of "$work/config.json"); config_size=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$work/blobs/sha256/$config_digest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
  local manifest_digest manifest_size
  manifest_digest=$(sha256_of "$work/manifest.json"); manifest_size=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$work/blobs/sha256/$manifest_digest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$ref" "${ref##*:}" >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar --sort=name --mtime=@0 -C "$work" -cf "$out.tmp" oci-layout index.json blobs || die "could not write $out"
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# Copies a dynamically linked binary and every library it loads into a rootfs
# (at its own path, or at <dest> inside the rootfs).
copy_with_libs() {
  local rootfs=$1 binary=$2 dest=${3:-$2}
  install -D -m 0755 "$(readlink -f "$binary")" "$rootfs$dest"
  local lib
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    [[ -e "$rootfs$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

build_pause_image() {
  local out=$1 rootfs=$2
  ( cd "$HERE/images/pause" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go build -trimpath -ldflags="-s -w" -o "$rootfs/pause" main.go ) || die "building the pause binary failed"
  oci_archive "$out" "$PAUSE_IMAGE" "$rootfs" '{"Entrypoint":["/pause"],"User":"65535:65535"}'
}

write_passwd() {
  local rootfs=$1
  mkdir -p "$rootfs/etc"
  printf 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/nonexistent:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnginx:x:101:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
}

build_nginx_image() {
  local out=$1 rootfs=$2
  [[ -x /usr/sbin/nginx ]] || die "/usr/sbin/nginx missing: apt-get install nginx-light (or nginx)"
  copy_with_libs "$rootfs" /usr/sbin/nginx
  # nginx resolves user/group names and time zones through these at start.
  local f
  for f in /lib/x86_64-linux-gnu/libnss_files.so.2 /etc/nsswitch.conf; do
    [[ -e $f ]] && install -D -m 0644 "$(readlink -f "$f")" "$rootfs$f"
  done
  write_passwd "$rootfs"
  install -D -m 0644 /etc/nginx/mime.types "$rootfs/etc/nginx/mime.types"
  install -D -m 0644 "$HERE/images/nginx.conf" "$rootfs/etc/nginx/nginx.conf"
  mkdir -p "$rootfs/usr/share/nginx/html" "$rootfs/var/log/nginx" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  chown 101:101 "$rootfs/var/log/nginx"
  echo '<!doctype html><title>pagoda nginx</title><p>pagoda nginx image</p>' >"$rootfs/usr/share/nginx/html/index.html"
  oci_archive "$out" "$NGINX_IMAGE" "$rootfs" \
    '{"Entrypoint":["/usr/sbin/nginx","-e","stderr","-g","daemon off;"],"User":"101:101","ExposedPorts":{"8080/tcp":{}},"StopSignal":"SIGQUIT","Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

build_busybox_image() {
  local out=$1 rootfs=$2
  [[ -x /bin/busybox ]] || die "/bin/busybox missing: apt-get install busybox-static"
  # The image has no libc, so only the static build works in it.
  { ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic executable' ||
    die "/bin/busybox is not statically linked: apt-get install busybox-static"
  install -D -m 0755 /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
  done
  write_passwd "$rootfs"
  mkdir -p "$rootfs/tmp" && chmod 1777 "$rootfs/tmp"
  oci_archive "$out" "$BUSYBOX_IMAGE" "$rootfs" '{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]}'
}

# A static Go binary; cert-manager runs its solver Pods as non-root, which
# the kubelet can only check against a numeric user.
build_acmesolver_image() {
  local out=$1 rootfs=$2 bin
  bin=$(acmesolver_bin) || die "building cert-manager's acmesolver failed"
  install -D -m 0755 "$bin" "$rootfs/acmesolver"
  oci_archive "$out" "$ACMESOLVER_IMAGE" "$rootfs" '{"Entrypoint":["/acmesolver"],"User":"65534:65534","ExposedPorts":{"8089/tcp":{}}}'
}

# The pool image: its agent (one JavaScript bundle, scripts/pool-agent-build.ts)
# runs on the host's Node, and starts Debian's nginx as its child.
POOL_IMAGE_REPO=pagoda.local/pool

pool_node_bin() {
  local bin=${PAGODA_POOL_NODE_BIN:-$REPO/.tools/node/bin/node}
  [[ -x $bin ]] || bin=$(command -v node) || die "no Node binary for the pool image (set PAGODA_POOL_NODE_BIN)"
  readlink -f "$bin"
}

# Files whose bytes end up in the pool image.
pool_image_inputs() {
  local bundle=$1
  printf '%s\n' "$bundle" "$(pool_node_bin)" /usr/sbin/nginx /etc/nginx/mime.types /etc/ssl/certs/ca-certificates.crt
}

# pool_image_tag <bundle>: a hash of every input and of the recipe itself, so
# a changed agent, Node, nginx or recipe is a new tag (and the kubelet, which
# never re-pulls a tag it holds, runs the new bytes).
pool_image_tag() {
  local bundle=$1 f
  {
    while read -r f; do
      [[ -r $f ]] || die "pool image input $f is missing"
      sha256_of "$f"
    done < <(pool_image_inputs "$bundle")
    declare -f build_pool_image pool_image_inputs write_passwd copy_with_libs oci_archive
  } | sha256sum | cut -c1-16
}

build_pool_image() {
  local out=$1 rootfs=$2 ref=$3 bundle=$4
  [[ -x /usr/sbin/nginx ]] || die "/usr/sbin/nginx missing: apt-get install nginx-light (or nginx)"
  # The image's root is the temp dir's: mktemp makes it 0700, closed to uid 101.
  chmod 0755 "$rootfs"
  copy_with_libs "$rootfs" "$(pool_node_bin)" /usr/local/bin/node
  copy_with_libs "$rootfs" /usr/sbin/nginx
  local f
  for f in /lib/x86_64-linux-gnu/libnss_files.so.2 /etc/nsswitch.conf /etc/nginx/mime.types /etc/ssl/certs/ca-certificates.crt; do
    [[ -e $f ]] && install -D -m 0644 "$(readlink -f "$f")" "$rootfs$f"
  done
  write_passwd "$rootfs"
  install -D -m 0644 "$bundle" "$rootfs/app/agent.cjs"
  # Mount points of the pod's volumes (store, work, /tmp) and nginx's
  # compiled-in log directory, which it opens before reading its config.
  mkdir -p "$rootfs/tmp" "$rootfs/var/cache/pagoda-pool" "$rootfs/var/lib/pagoda-pool" "$rootfs/var/log/nginx"
  chmod 1777 "$rootfs/tmp"
  chown 101:101 "$rootfs/var/cache/pagoda-pool" "$rootfs/var/lib/pagoda-pool" "$rootfs/var/log/nginx"
  # NODE_EXTRA_CA_CERTS: artifact URLs signed by a private CA the machine trusts work too.
  # nginx's logs go to the agent's (PID 1's) stdout and stderr, the pipes runc
  # hands the container as uid 101. Not /dev/stdout: that is the opening
  # process's own fd, and the agent runs `nginx -t` with socket pairs there,
  # which open() refuses (ENXIO), so every configuration would fail its test.
  oci_archive "$out" "$ref" "$rootfs" \
    '{"Entrypoint":["/usr/local/bin/node","/app/agent.cjs"],"User":"101:101","ExposedPorts":{"8080/tcp":{},"8081/tcp":{}},"Env":["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt","PAGODA_POOL_ACCESS_LOG=/proc/1/fd/1","PAGODA_POOL_ERROR_LOG=/proc/1/fd/2"]}'
}

# ensure_pool_image <bundle>: builds pool-<tag>.tar unless the cache holds it;
# prints the archive path and the image reference, one a line.
ensure_pool_image() {
  local bundle=$1
  [[ -s $bundle ]] || die "pool agent bundle $bundle is missing: npm run build:pool-agent"
  local dir tag; dir=$(images_dir); tag=$(pool_image_tag "$bundle")
  local out="$dir/pool-$tag.tar" ref="$POOL_IMAGE_REPO:$tag"
  mkdir -p "$dir"
  exec 7>"$dir/.pool.lock"
  flock 7
  if [[ ! -s $out ]]; then
    log "building image archive pool ($ref)"
    local rootfs; rootfs=$(mktemp -d)
    build_pool_image "$out" "$rootfs" "$ref" "$bundle"
    rm -rf "$rootfs"
    # Each agent change is a new archive (the size of Node, about 120 MB);
    # keep the newest few, which another checkout may be importing.
    find "$dir" -maxdepth 1 -name 'pool-*.tar' -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- | xargs -r rm -f
  fi
  flock -u 7; exec 7>&-
  printf '%s\n%s\n' "$out" "$ref"
}

# import_pool_image <bundle>: into the running node's containerd; prints the reference.
import_pool_image() {
  local built archive ref
  built=$(ensure_pool_image "$1")
  archive=$(sed -n 1p <<<"$built"); ref=$(sed -n 2p <<<"$built")
  ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$archive" >/dev/null ||
    die "importing $archive into containerd failed"
  echo "$ref"
}

# Builds the archives once per cache (inputs are the installed packages).
ensure_image_archives() {
  local dir; dir=$(images_dir)
  mkdir -p "$dir"
  local name
  for name in "${IMAGE_NAMES[@]}"; do
    [[ -s "$dir/$name.tar" ]] && continue
    log "building image archive $name"
    local rootfs; rootfs=$(mktemp -d)
    "build_${name}_image" "$dir/$name.tar" "$rootfs"
    rm -rf "$rootfs"
  done
}

import_images() {
  local dir; dir=$(images_dir)
  local name
  for name in "${IMAGE_NAMES[@]}"; do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$dir/$name.tar" >/dev/null ||
      die "importing $dir/$name.tar into containerd failed"
  done
}
