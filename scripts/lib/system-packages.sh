# Sourced by scripts: installs the Debian packages a run needs when a command
# is missing, once per machine. Needs root (or the packages already present).

APT_UPDATED=0

# ensure_command <command> <debian package> [why]
ensure_command() {
  local cmd="$1" package="$2" why="${3:-}"
  if command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ]; then return; fi
  if [ "$(id -u)" != 0 ]; then
    die "'$cmd' is missing${why:+ ($why)}; install it with: sudo apt-get install -y $package"
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    log "updating the Debian package lists"
    apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "installing $package${why:+ ($why)}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2 \
    || die "apt-get install $package failed"
}

# What the local Kubernetes cluster needs from the host: certificates, and
# for a real node the container runtime, CNI plugins and what the locally
# built images are made of.
ensure_cluster_packages() {
  ensure_command openssl openssl "cluster certificates"
  ensure_command containerd containerd "container runtime of the local node"
  ensure_command runc runc "container runtime of the local node"
  ensure_command /usr/lib/cni/bridge containernetworking-plugins "pod networking of the local node"
  ensure_command iptables iptables "service routing of the local node"
  ensure_command conntrack conntrack "service routing of the local node"
  ensure_command /bin/busybox busybox-static "init containers of the local node"
  ensure_command /usr/sbin/nginx nginx "the image that serves sites"
  ensure_command /usr/sbin/knotd knot "the local DNS server of domain verification and ACME validation"
}
