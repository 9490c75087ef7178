# shellcheck shell=bash
# Resolving Kubernetes/etcd binaries: explicit dir, cache, Go module build,
# or release download. Sourced by pagoda-cluster; expects versions.env loaded.

# shellcheck disable=SC2034 # used by pagoda-cluster
CONTROL_PLANE_BINS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
# shellcheck disable=SC2034
NODE_BINS=(kubelet kube-proxy)

cache_root() { echo "${PAGODA_CACHE_DIR:-$HOME/.cache/pagoda}"; }
kube_cache_dir() { echo "$(cache_root)/kube/${KUBE_VERSION}-etcd-${ETCD_VERSION}"; }
kube_cache_bin() { echo "$(kube_cache_dir)/bin"; }

have_bins() {
  local dir=$1; shift
  local b
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
}

# Staging modules are listed at v0.0.0 in k8s.io/kubernetes' go.mod and
# resolved through local replaces there; a consumer module must point each one
# at the published tag instead. The list is read from the pinned go.mod itself
# so a version bump picks up newly added staging modules.
kube_staging_replaces() {
  local gomod=$1 minor_tag=$2
  awk '/^\t?k8s\.io\/[^ ]+ v0\.0\.0$/ {print $1}' "$gomod" | sort -u |
    while read -r mod; do echo "replace $mod => $mod $minor_tag"; done
}

go_build_env() {
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  # Keep the Go build cache beside the binaries' cache unless the user chose one,
  # so `build` on a fresh machine is self-contained and removable.
  export GOCACHE="${GOCACHE:-$(go env GOCACHE)}"
}

build_kube_from_modules() {
  local out=$1; shift
  local pkgs=("$@")
  command -v go >/dev/null || die "go is not installed; install Go >= 1.25 or set KUBE_BIN_DIR"
  local work; work="$(kube_cache_dir)/src-kube"
  mkdir -p "$work" "$out"
  local staging_tag="v0${KUBE_VERSION#v1}"
  if [[ ! -f "$work/go.mod" ]]; then
    log "preparing Go module for Kubernetes $KUBE_VERSION in $work"
    local gomod
    gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
      sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
    [[ -f "$gomod" ]] || die "could not download go.mod of k8s.io/kubernetes@$KUBE_VERSION"
    {
      echo "module pagoda.local/kube-build"
      echo
      echo "go 1.25.0"
      echo
      echo "godebug default=go1.25"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      kube_staging_replaces "$gomod" "$staging_tag"
    } >"$work/go.mod.tmp"
    mv "$work/go.mod.tmp" "$work/go.mod"
  fi
  local p
  local targets=()
  for p in "${pkgs[@]}"; do targets+=("k8s.io/kubernetes/cmd/$p"); done
  log "building ${pkgs[*]} (Kubernetes $KUBE_VERSION) from Go modules; the first build takes a while"
  ( cd "$work" && go_build_env &&
    go build -trimpath -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
      -o "$out/" "${targets[@]}" ) || die "go build of ${pkgs[*]} failed"
}

build_etcd_from_modules() {
  local out=$1
  local work; work="$(kube_cache_dir)/src-etcd"
  mkdir -p "$work" "$out"
  if [[ ! -f "$work/go.mod" ]]; then
    printf 'module pagoda.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  fi
  log "building etcd $ETCD_VERSION from Go modules"
  ( cd "$work" && go_build_env &&
    go build -trimpath -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3 ) ||
    die "go build of etcd failed"
}

# For machines with internet access and no Go: the upstream release archives.
download_release_bins() {
  local out=$1; shift
  local arch; arch=$(go_arch)
  mkdir -p "$out"
  local b
  for b in "$@"; do
    [[ -x "$out/$b" ]] && continue
    if [[ $b == etcd ]]; then
      local tgz="etcd-${ETCD_VERSION}-linux-${arch}.tar.gz"
      curl -fsSL --retry 3 "https://github.com/etcd-io/etcd/releases/download/${ETCD_VERSION}/${tgz}" -o "$out/$tgz" &&
        tar -xzf "$out/$tgz" -C "$out" --strip-components=1 "etcd-${ETCD_VERSION}-linux-${arch}/etcd" &&
        rm -f "$out/$tgz" || return 1
    else
      curl -fsSL --retry 3 "https://dl.k8s.io/release/${KUBE_VERSION}/bin/linux/${arch}/$b" -o "$out/$b.part" &&
        mv "$out/$b.part" "$out/$b" && chmod +x "$out/$b" || return 1
    fi
  done
}

go_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;; aarch64|arm64) echo arm64 ;; *) die "unsupported architecture $(uname -m)" ;;
  esac
}

# Prints the directory holding the requested binaries, building them if needed.
ensure_bins() {
  local bins=("$@")
  if [[ -n "${KUBE_BIN_DIR:-}" ]]; then
    have_bins "$KUBE_BIN_DIR" "${bins[@]}" ||
      die "KUBE_BIN_DIR=$KUBE_BIN_DIR lacks one of: ${bins[*]}"
    echo "$KUBE_BIN_DIR"; return
  fi
  local bin; bin=$(kube_cache_bin)
  if have_bins "$bin" "${bins[@]}"; then echo "$bin"; return; fi
  mkdir -p "$bin"
  # One builder at a time: parallel `up`s (e.g. test workers) share the cache.
  exec 8>"$(kube_cache_dir)/.build.lock"
  flock 8
  if ! have_bins "$bin" "${bins[@]}"; then
    if [[ "${PAGODA_KUBE_DOWNLOAD:-0}" == 1 ]] || ! command -v go >/dev/null; then
      log "downloading release binaries ${bins[*]}"
      download_release_bins "$bin" "${bins[@]}" >&2 || die "downloading release binaries failed (no internet? install Go to build them instead)"
    else
      local kube=() b
      for b in "${bins[@]}"; do
        [[ -x "$bin/$b" ]] && continue
        if [[ $b == etcd ]]; then build_etcd_from_modules "$bin" >&2; else kube+=("$b"); fi
      done
      if ((${#kube[@]})); then build_kube_from_modules "$bin" "${kube[@]}" >&2; fi
    fi
  fi
  flock -u 8; exec 8>&-
  have_bins "$bin" "${bins[@]}" || die "binaries missing in $bin after build: ${bins[*]}"
  echo "$bin"
}

# Extra Go programs (kwok, traefik, ...) built from their own modules, each in
# a module of its own so their dependency versions never meet Kubernetes'.
# ensure_go_tool <binary> <module> <version> <package> — prints the binary path.
ensure_go_tool() {
  local name=$1 module=$2 version=$3 pkg=$4
  local dir; dir="$(cache_root)/tools/$name-$version"
  local bin="$dir/bin/$name"
  if [[ -x "$bin" ]]; then echo "$bin"; return; fi
  command -v go >/dev/null || die "go is required to build $name $version"
  mkdir -p "$dir/src" "$dir/bin"
  exec 8>"$dir/.build.lock"
  flock 8
  if [[ ! -x "$bin" ]]; then
    if [[ ! -f "$dir/src/go.mod" ]]; then
      local gomod
      gomod=$(cd "$dir/src" && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
        sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
      [[ -f "$gomod" ]] || die "could not download go.mod of $module@$version"
      {
        printf 'module pagoda.local/%s-build\n\ngo %s\n\nrequire %s %s\n\n' \
          "$name" "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")" "$module" "$version"
        # Replaces and excludes only apply in the main module, so the
        # upstream ones that point at published forks are carried over.
        module_remote_directives "$gomod"
      } >"$dir/src/go.mod"
    fi
    log "building $name $version from Go modules"
    ( cd "$dir/src" && go_build_env &&
      go build -trimpath -ldflags="-s -w" -o "$bin" "$pkg" ) >&2 || die "go build of $name failed"
  fi
  flock -u 8; exec 8>&-
  echo "$bin"
}

# Prints the replace/exclude directives of a go.mod that point at other
# modules (local-path replaces cannot work outside that module's repo).
module_remote_directives() {
  awk '
    /^(replace|exclude) \($/ { block=$1; next }
    block && /^\)$/ { block=""; next }
    block { if (block=="exclude" || $0 !~ /=> *\.\.?\//) print block, $0; next }
    /^replace / && $0 !~ /=> *\.\.?\// { print; next }
    /^exclude / { print }
  ' "$1"
}
