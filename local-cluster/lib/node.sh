# shellcheck shell=bash
# Node tier. Two kinds:
#   kwok: a SIMULATED node (sigs.k8s.io/kwok). Pods are bound and reported
#         Running/Ready, but no container runs. Good for controller tests that
#         need Deployments to become Available.
#   node: a real node: containerd + runc + CNI bridge + kubelet + kube-proxy,
#         images built locally and imported, Traefik as the Ingress controller.

# shellcheck disable=SC2034 # used by pagoda-cluster status
NODE_COMPONENTS=(containerd kubelet kube-proxy traefik)
KWOK_NODE_NAME=pagoda-sim-node

kwok_stages_file() {
  # The upstream "fast" stages: nodes become Ready at once, pods Running at once.
  local out; out="$(cache_root)/tools/kwok-$KWOK_VERSION/stages.yaml"
  if [[ ! -s "$out" ]]; then
    local dir
    dir=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [[ -d "$dir/kustomize/stage" ]] || die "kwok $KWOK_VERSION module has no kustomize/stage folder"
    local f
    for f in "$dir"/kustomize/stage/node/fast/node-initialize.yaml "$dir"/kustomize/stage/pod/fast/pod-*.yaml; do
      echo "---"; cat "$f"
    done >"$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

kwok_up() {
  local kwok stages
  kwok=$(ensure_go_tool kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok)
  stages=$(kwok_stages_file)
  ensure_started kwok start_kwok_proc
  "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" apply -f - >/dev/null <<EOF || die "could not create the simulated node"
apiVersion: v1
kind: Node
metadata:
  name: $KWOK_NODE_NAME
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $KWOK_NODE_NAME
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    pagoda.dev/simulated: "true"
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "250"}
  capacity: {cpu: "32", memory: 256Gi, pods: "250"}
EOF
  wait_until "simulated node $KWOK_NODE_NAME to be Ready" kwok node_ready "$KWOK_NODE_NAME"
  log "node $KWOK_NODE_NAME is SIMULATED by kwok: pods are reported Running but no container runs"
}

start_kwok_proc() {
  # --node-port=0 and no --server-address: kwok's own server would listen on
  # all interfaces; nothing here needs it.
  start_proc kwok "$kwok" \
    --kubeconfig="$KUBECONFIG_PATH" \
    --config="$stages" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 \
    --node-port=0 \
    --cidr=10.245.0.0/16 \
    --node-ip=127.0.0.1
}

kwok_down() { stop_proc kwok; }

node_ready() {
  [[ "$("$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" get node "$1" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}


# ---------------------------------------------------------------------------
# Real node
# ---------------------------------------------------------------------------
NODE_NAME=pagoda-node
BRIDGE=pagoda0

node_config() {
  NODE_DIR="$STATE/node"
  POD_CIDR="${PAGODA_POD_CIDR:-${POD_CIDR:-10.244.0.0/24}}"
  CONTAINERD_SOCK="$RUN/containerd.sock"
  KUBELET_PORT="${PAGODA_KUBELET_PORT:-${KUBELET_PORT:-$((API_PORT + 5))}}"
  KUBELET_HEALTHZ_PORT="${PAGODA_KUBELET_HEALTHZ_PORT:-${KUBELET_HEALTHZ_PORT:-$((API_PORT + 6))}}"
  PROXY_HEALTHZ_PORT="${PAGODA_PROXY_HEALTHZ_PORT:-${PROXY_HEALTHZ_PORT:-$((API_PORT + 7))}}"
  PROXY_METRICS_PORT="${PAGODA_PROXY_METRICS_PORT:-${PROXY_METRICS_PORT:-$((API_PORT + 8))}}"
  TRAEFIK_PING_PORT="${PAGODA_TRAEFIK_PING_PORT:-${TRAEFIK_PING_PORT:-$((API_PORT + 9))}}"
  INGRESS_PORT="${PAGODA_INGRESS_PORT:-${INGRESS_PORT:-18080}}"
  POD_GATEWAY="$(first_service_ip "$POD_CIDR")"
  # Each node's pods live under a cgroup of their own: a kubelet removes pod
  # cgroups it does not know, so two nodes sharing /kubepods would kill each
  # other's pods, and clean-up must only ever touch this node's.
  CGROUP_ROOT="/pagoda-$(echo -n "$STATE" | sha256sum | cut -c1-10)"
}

cgroup_dirs() {
  local d
  for d in /sys/fs/cgroup/*/; do
    [[ -f "$d/cgroup.procs" ]] && echo "${d%/}$CGROUP_ROOT"
  done
}

ensure_cgroup_root() {
  local d parent
  while read -r d; do
    mkdir -p "$d" || die "cannot create cgroup $d"
    parent=${d%/*}
    # A new cgroup v1 cpuset starts with no CPUs or memory nodes.
    if [[ -f "$d/cpuset.cpus" && -z "$(cat "$d/cpuset.cpus")" ]]; then
      cat "$parent/cpuset.cpus" >"$d/cpuset.cpus"
      cat "$parent/cpuset.mems" >"$d/cpuset.mems"
    fi
  done < <(cgroup_dirs)
}

save_node_config() {
  cat >>"$STATE/cluster.env" <<EOF2
POD_CIDR=$POD_CIDR
KUBELET_PORT=$KUBELET_PORT
KUBELET_HEALTHZ_PORT=$KUBELET_HEALTHZ_PORT
PROXY_HEALTHZ_PORT=$PROXY_HEALTHZ_PORT
PROXY_METRICS_PORT=$PROXY_METRICS_PORT
TRAEFIK_PING_PORT=$TRAEFIK_PING_PORT
INGRESS_PORT=$INGRESS_PORT
EOF2
}

# Everything a real node needs from the host, checked up front so a missing
# package is reported by name instead of as a kubelet stack trace.
node_preflight() {
  [[ $(id -u) == 0 ]] || die "a real node needs root (mounts, cgroups, network namespaces); use --kwok to simulate one"
  local missing=() c
  for c in containerd containerd-shim-runc-v2 runc ctr iptables conntrack ip mount; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  for c in bridge host-local loopback; do
    [[ -x "/usr/lib/cni/$c" ]] || missing+=("cni:$c")
  done
  ((${#missing[@]} == 0)) ||
    die "missing for --node: ${missing[*]} (apt-get install containerd runc containernetworking-plugins iptables conntrack nginx-light busybox-static)"
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || die "no usable cgroup hierarchy under /sys/fs/cgroup"
}

ensure_node_extras() {
  ensure_image_archives
  ensure_go_tool traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik >/dev/null
}

# A running kube-proxy exits when its config file changes, so an idempotent
# `up` must leave unchanged files untouched.
write_if_changed() {
  local file=$1
  cat >"$file.new"
  if cmp -s "$file.new" "$file"; then rm -f "$file.new"; else mv "$file.new" "$file"; fi
}

write_node_files() {
  mkdir -p "$NODE_DIR"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs}
  issue_cert "kubelet-client" "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  issue_cert "kubelet-server" "/CN=$NODE_NAME" serverAuth "IP:$POD_GATEWAY,IP:127.0.0.1,DNS:$NODE_NAME,DNS:localhost"
  issue_cert "kube-proxy" "/CN=system:kube-proxy" clientAuth
  write_kubeconfig "$STATE/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
  write_kubeconfig "$STATE/kube-proxy.kubeconfig" system:kube-proxy kube-proxy

  write_if_changed "$NODE_DIR/containerd/config.toml" <<EOF2
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which sandboxed hosts
  # (containers, some VMs) drop; clamp to containerd's own value instead of
  # failing every pod sandbox with "failed to update oom_score_adj".
  restrict_oom_score_adj = $(if has_cap_sys_resource; then echo false; else echo true; fi)
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
EOF2

  # Pods get routes to the pod and service ranges only, no default route:
  # nothing they send can leave this machine.
  write_if_changed "$NODE_DIR/cni/net.d/10-pagoda.conflist" <<EOF2
{
  "cniVersion": "0.4.0",
  "name": "pagoda",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    }
  ]
}
EOF2

  echo "nameserver 127.0.0.1" >"$NODE_DIR/resolv.conf"
  write_if_changed "$NODE_DIR/kubelet-config.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The node's address is the bridge's (Node InternalIP may not be loopback),
# which only this host and its pods can reach.
address: $POD_GATEWAY
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet-server.crt"
tlsPrivateKeyFile: "$PKI/kubelet-server.key"
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
imageServiceEndpoint: "unix://$CONTAINERD_SOCK"
cgroupDriver: cgroupfs
cgroupRoot: "$CGROUP_ROOT"
# This kernel mounts cgroup v1 controllers (cgroup2 only at .../unified);
# Kubernetes 1.35 refuses v1 unless told otherwise.
failCgroupV1: false
failSwapOn: false
podLogsDirectory: "$NODE_DIR/pod-logs"
resolvConf: "$NODE_DIR/resolv.conf"
clusterDomain: cluster.local
staticPodPath: ""
serializeImagePulls: false
# A development disk is often fuller than a server's; evicting pods or
# deleting the locally imported images would only break the node.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 50
EOF2

  write_if_changed "$NODE_DIR/kube-proxy-config.yaml" <<EOF2
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: "$POD_CIDR"
bindAddress: 127.0.0.1
healthzBindAddress: "127.0.0.1:$PROXY_HEALTHZ_PORT"
metricsBindAddress: "127.0.0.1:$PROXY_METRICS_PORT"
# NodePorts only on the bridge address: loopback NodePorts would need
# route_localnet, a host-wide sysctl.
nodePortAddresses: ["$POD_GATEWAY/32"]
# Zero leaves the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF2
}

# The bridge is made here rather than by the CNI plugin on the first Pod so
# that the service range can be routed onto it at once: a Service address that
# kube-proxy has not (yet) translated then stays on this bridge instead of
# following the default route off the machine.
ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || die "cannot create bridge $BRIDGE"
  fi
  ip addr replace "$POD_GATEWAY/${POD_CIDR#*/}" dev "$BRIDGE" || die "cannot address bridge $BRIDGE"
  ip link set "$BRIDGE" up || die "cannot bring up bridge $BRIDGE"
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" || die "cannot route $SERVICE_CIDR to $BRIDGE"
}

has_cap_sys_resource() {
  local eff; eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  (( (16#$eff >> 24) & 1 ))
}

containerd_ready() {
  ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1
}

start_containerd() {
  start_proc containerd "$(command -v containerd)" --config "$NODE_DIR/containerd/config.toml" --log-level warn
}

start_kubelet() {
  start_proc kubelet "$BIN/kubelet" \
    --config="$NODE_DIR/kubelet-config.yaml" \
    --kubeconfig="$STATE/kubelet.kubeconfig" \
    --root-dir="$NODE_DIR/kubelet" \
    --cert-dir="$NODE_DIR/kubelet/pki" \
    --hostname-override="$NODE_NAME" \
    --node-ip="$POD_GATEWAY" \
    --node-labels=pagoda.dev/node=local
}

start_kube_proxy() {
  start_proc kube-proxy "$BIN/kube-proxy" --config="$NODE_DIR/kube-proxy-config.yaml"
}

kubelet_healthy() {
  [[ "$(curl -sS --max-time 3 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null)" == ok ]]
}

proxy_healthy() {
  curl -fsS --max-time 3 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1
}

traefik_healthy() {
  [[ "$(curl -sS --max-time 3 "http://127.0.0.1:$TRAEFIK_PING_PORT/ping" 2>/dev/null)" == OK ]]
}

kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# Traefik runs on the host and reaches pods on the bridge directly. Its
# Kubernetes provider takes a bearer token (not a client certificate), so it
# gets a ServiceAccount with read access to what it routes.
traefik_setup() {
  kctl apply -f - >/dev/null <<'EOF2' || die "could not create Traefik's RBAC objects"
apiVersion: v1
kind: ServiceAccount
metadata: {name: traefik, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pagoda-traefik}
rules:
- apiGroups: [""]
  resources: [services, endpoints, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pagoda-traefik}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pagoda-traefik}
subjects:
- {kind: ServiceAccount, name: traefik, namespace: kube-system}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: traefik.io/ingress-controller}
EOF2
  local token
  token=$(kctl -n kube-system create token traefik --duration=8760h) || die "could not issue a token for Traefik"
  umask 077
  cat >"$NODE_DIR/traefik.yaml" <<EOF2
global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "127.0.0.1:$INGRESS_PORT"}
  traefik: {address: "127.0.0.1:$TRAEFIK_PING_PORT"}
$(traefik_tls_entry_points)
ping: {entryPoint: traefik}
log: {level: INFO}
providers:
  kubernetesIngress:
    endpoint: "$(api_url)"
    token: "$token"
    certAuthFilePath: "$PKI/ca.crt"
$(traefik_tls_providers)
EOF2
  umask 022
}

# With the TLS tier: HTTPS, and port 80 for cert-manager's reachability
# check. Traefik makes an Ingress's routers TLS only through an annotation;
# the entry point's own tls option serves every Ingress on HTTPS instead,
# with the certificate of its tls section's Secret chosen by SNI.
traefik_tls_entry_points() {
  [[ ${TLS:-0} == 1 ]] || return 0
  echo "  websecure: {address: \"127.0.0.1:$INGRESS_TLS_PORT\", http: {tls: {}}}"
  echo "  http01: {address: \"127.0.0.1:$INGRESS_HTTP01_PORT\"}"
}

# A redirect to the HTTPS entry point that Ingresses can name in
# traefik.ingress.kubernetes.io/router.middlewares: pagoda-https-redirect@file.
traefik_tls_providers() {
  [[ ${TLS:-0} == 1 ]] || return 0
  cat >"$NODE_DIR/traefik-dynamic.yaml" <<EOF3
http:
  middlewares:
    pagoda-https-redirect:
      redirectScheme: {scheme: https, port: "$INGRESS_TLS_PORT", permanent: true}
EOF3
  echo "  file: {filename: \"$NODE_DIR/traefik-dynamic.yaml\"}"
}

start_traefik() {
  start_proc traefik "$TRAEFIK_BIN" --configFile="$NODE_DIR/traefik.yaml"
}

node_up() {
  node_preflight
  node_config
  save_node_config
  local c
  for c in "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT" "$TRAEFIK_PING_PORT" "$INGRESS_PORT"; do
    if port_in_use "$c" && ! proc_running kubelet && ! proc_running traefik; then
      die "port $c on 127.0.0.1 is in use; set PAGODA_CLUSTER_PORT / PAGODA_INGRESS_PORT to free ones"
    fi
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1 && ! proc_running containerd && [[ ! -d "$STATE/node" ]]; then
    die "network interface $BRIDGE exists but this cluster's containerd is not running: another local node (or a crashed one) owns it; run 'pagoda-cluster down' for that state dir"
  fi
  ensure_node_extras
  TRAEFIK_BIN=$(ensure_go_tool traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik)
  write_node_files
  ensure_bridge
  ensure_cgroup_root
  ensure_started containerd start_containerd
  wait_until "containerd on $CONTAINERD_SOCK" containerd containerd_ready
  import_images
  ensure_started kubelet start_kubelet
  wait_until "kubelet /healthz" kubelet kubelet_healthy
  ensure_started kube-proxy start_kube_proxy
  wait_until "kube-proxy /healthz" kube-proxy proxy_healthy
  wait_until "node $NODE_NAME to be Ready" kubelet node_ready "$NODE_NAME"
  traefik_setup
  ensure_started traefik start_traefik
  wait_until "Traefik /ping" traefik traefik_healthy
  log "real node $NODE_NAME Ready; Ingress controller (Traefik) on http://127.0.0.1:$INGRESS_PORT"
}

# Removes every pod sandbox through the CRI so that CNI tears down each veth
# and IP lease, then stops the node processes and removes what is left.
node_down() {
  node_config
  # Host-wide clean-up (cgroups, bridge) only for the state dir that ran a node.
  [[ -d "$NODE_DIR" ]] || return 0
  local failed=0
  stop_proc traefik || failed=1
  stop_proc kubelet || failed=1
  if proc_running containerd; then
    cri_remove_all_pods || failed=1
  fi
  if proc_running kube-proxy || [[ -f "$NODE_DIR/kube-proxy-config.yaml" && -x "${BIN:-}/kube-proxy" ]]; then
    stop_proc kube-proxy || failed=1
  fi
  stop_proc containerd || failed=1
  node_cleanup_host || failed=1
  return $failed
}

cri_remove_all_pods() {
  local tool
  tool=$(ensure_cri_tool) || return 1
  # A container the kubelet was still starting when it stopped cannot be
  # removed until containerd has finished starting it; each run lists again.
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    "$tool" --endpoint "unix://$CONTAINERD_SOCK" && return 0
    log "removing pod sandboxes failed (attempt $attempt); retrying"
    sleep 1
  done
  echo "pagoda-cluster: error: removing pod sandboxes failed" >&2
  return 1
}

node_cleanup_host() {
  local failed=0
  # Anything a crashed shim left behind: kill processes still in our cgroups.
  local cg pids
  while read -r cg; do
    [[ -d $cg ]] || continue
    pids=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    if [[ -n $pids ]]; then
      log "killing leftover pod processes: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
  done < <(cgroup_dirs)
  while read -r cg; do
    [[ -d $cg ]] || continue
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d $cg ]] || { echo "pagoda-cluster: error: cannot remove cgroup $cg" >&2; failed=1; }
  done < <(cgroup_dirs)
  # Mounts under the state dir (overlay rootfs, shm, netns, projected volumes),
  # deepest first.
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { echo "pagoda-cluster: error: cannot unmount $m" >&2; failed=1; }
  done < <(awk -v s="$STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE" || { echo "pagoda-cluster: error: cannot delete interface $BRIDGE" >&2; failed=1; }
  fi
  if [[ -x "${BIN:-}/kube-proxy" ]] && iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
    "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  remove_kubelet_chains
  return $failed
}

# kubelet's own chains (KUBE-FIREWALL blocks outside access to 127.0.0.0/8;
# the others are probes); kube-proxy --cleanup leaves them.
remove_kubelet_chains() {
  local ipt table chain
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for table in filter nat mangle; do
      for chain in INPUT OUTPUT; do
        while "$ipt" -t "$table" -D "$chain" -j KUBE-FIREWALL 2>/dev/null; do :; done
      done
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        if "$ipt" -t "$table" -S "$chain" >/dev/null 2>&1; then
          "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
          "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
        fi
      done
    done
  done
}

# A small CRI client (local-cluster/tools/cri-clean) built with the Kubernetes
# binaries; crictl is not published as a Go module version.
ensure_cri_tool() {
  local out; out="$(kube_cache_dir)/bin/pagoda-cri-clean"
  if [[ ! -x $out ]]; then
    local work; work="$(kube_cache_dir)/src-kube"
    [[ -f "$work/go.mod" ]] || die "Kubernetes build module missing; run pagoda-cluster build --node"
    mkdir -p "$work/cri-clean"
    cp "$HERE/tools/cri-clean/main.go" "$work/cri-clean/main.go"
    ( cd "$work" && go_build_env && go build -trimpath -ldflags="-s -w" -o "$out" ./cri-clean ) >&2 ||
      die "building cri-clean failed"
  fi
  echo "$out"
}

# End-to-end check of a real node: a Deployment of the local nginx image
# (content written by a busybox init container), a Service and an Ingress,
# fetched through Traefik and through kube-proxy's ClusterIP rules.
node_smoke() {
  [[ $NODE_MODE == node ]] || die "smoke needs a real node: pagoda-cluster up --node"
  node_config
  BIN=$(ensure_bins kubectl)
  local ns=pagoda-smoke
  kctl apply -f - >/dev/null <<EOF2 || die "could not create the smoke test objects"
apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: smoke, namespace: $ns}
spec:
  replicas: 1
  selector: {matchLabels: {app: smoke}}
  template:
    metadata: {labels: {app: smoke}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 101, runAsGroup: 101}
      initContainers:
      - name: content
        image: $BUSYBOX_IMAGE
        command: [sh, -c, 'echo "smoke page served by \$(hostname)" > /html/index.html']
        volumeMounts: [{name: html, mountPath: /html}]
      containers:
      - name: nginx
        image: $NGINX_IMAGE
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
        volumeMounts:
        - {name: html, mountPath: /usr/share/nginx/html}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: html, emptyDir: {}}
      - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: smoke, namespace: $ns}
spec:
  selector: {app: smoke}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: smoke, namespace: $ns}
spec:
  ingressClassName: traefik
  rules:
  - host: smoke.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: smoke, port: {number: 80}}}}
EOF2
  kctl -n "$ns" rollout status deployment/smoke --timeout="${TIMEOUT}s" >&2 ||
    { kctl -n "$ns" describe pods >&2; die "smoke Deployment did not become available"; }
  local pod; pod=$(kctl -n "$ns" get pods -l app=smoke -o jsonpath='{.items[0].metadata.name}')
  local want="smoke page served by $pod" got="" deadline=$((SECONDS + 60))
  until [[ $got == "$want" ]]; do
    got=$(curl -sS --max-time 3 -H 'Host: smoke.test' "http://127.0.0.1:$INGRESS_PORT/" 2>/dev/null || true)
    ((SECONDS < deadline)) || fail_with_log traefik "Ingress answered '$got', expected '$want'"
    sleep 0.5
  done
  echo "ingress  http://127.0.0.1:$INGRESS_PORT/ (Host: smoke.test) -> $got"
  local ip; ip=$(kctl -n "$ns" get service smoke -o jsonpath='{.spec.clusterIP}')
  got=$(curl -sS --max-time 5 "http://$ip/") || fail_with_log kube-proxy "ClusterIP $ip did not answer"
  [[ $got == "$want" ]] || die "ClusterIP $ip answered '$got', expected '$want'"
  echo "service  http://$ip/ -> $got"
  kctl delete namespace "$ns" --wait=true --timeout=120s >/dev/null || die "could not delete namespace $ns"
}
