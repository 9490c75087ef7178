# shellcheck shell=bash
# Container images for the local node, assembled from this machine's Debian
# packages into OCI archives and imported into containerd: no registry.
#
#   pagoda.local/pause:1    sandbox process (local-cluster/images/pause)
#   pagoda.local/nginx:1    Debian nginx, runs as uid 101, listens on 8080
#   pagoda.local/busybox:1  busybox-static: sh, wget, sha256sum, tar, ...
#   pagoda.local/acmesolver:1  cert-manager's HTTP-01 solver (TLS tier only)

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

# Copies a dynamically linked binary and every library it loads into a rootfs.
copy_with_libs() {
  local rootfs=$1 binary=$2
  install -D -m 0755 "$binary" "$rootfs$binary"
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
