# shellcheck shell=bash
# The TLS tier of a real node (`up --node --tls`): Pebble as the ACME server,
# cert-manager's controller on the host, its HTTP-01 solver as a local image,
# and a ClusterIssuer `pagoda-pebble`. Names are resolved through a DNS server
# the caller runs (PAGODA_TLS_DNS_SERVER, e.g. local-cluster/dns-server.ts),
# so tests decide which names point at the ingress.

TLS_COMPONENTS=(pebble cert-manager)
CLUSTER_ISSUER=pagoda-pebble
CERT_MANAGER_NAMESPACE=cert-manager

pebble_bin() { ensure_go_tool pebble github.com/letsencrypt/pebble/v2 "$PEBBLE_VERSION" github.com/letsencrypt/pebble/v2/cmd/pebble; }
cert_manager_bin() {
  ensure_go_tool cert-manager-controller github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" github.com/cert-manager/cert-manager/cmd/controller
}
acmesolver_bin() {
  ensure_go_tool cert-manager-acmesolver github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" github.com/cert-manager/cert-manager/cmd/acmesolver
}

ensure_tls_extras() {
  pebble_bin >/dev/null
  cert_manager_bin >/dev/null
  acmesolver_bin >/dev/null
}

tls_config() {
  TLS_DIR="$STATE/tls"
  INGRESS_TLS_PORT="${PAGODA_INGRESS_TLS_PORT:-${INGRESS_TLS_PORT:-18443}}"
  # cert-manager checks that a challenge is reachable before it tells the
  # ACME server, always on port 80 of the address the name resolves to.
  INGRESS_HTTP01_PORT="${PAGODA_INGRESS_HTTP01_PORT:-${INGRESS_HTTP01_PORT:-80}}"
  PEBBLE_PORT="${PAGODA_PEBBLE_PORT:-${PEBBLE_PORT:-$((API_PORT + 10))}}"
  PEBBLE_MGMT_PORT="${PAGODA_PEBBLE_MGMT_PORT:-${PEBBLE_MGMT_PORT:-$((API_PORT + 11))}}"
  CERT_MANAGER_METRICS_PORT="${PAGODA_CERT_MANAGER_METRICS_PORT:-${CERT_MANAGER_METRICS_PORT:-$((API_PORT + 12))}}"
  TLS_DNS_SERVER="${PAGODA_TLS_DNS_SERVER:-${TLS_DNS_SERVER:-}}"
  # Names (and the names under them) Pebble refuses to issue for, so tests
  # can see an issuer's refusal; comma-separated.
  PEBBLE_BLOCKLIST="${PAGODA_PEBBLE_BLOCKLIST-${PEBBLE_BLOCKLIST-refused.customer.test}}"
}

save_tls_config() {
  cat >>"$STATE/cluster.env" <<EOF2
INGRESS_TLS_PORT=$INGRESS_TLS_PORT
INGRESS_HTTP01_PORT=$INGRESS_HTTP01_PORT
PEBBLE_PORT=$PEBBLE_PORT
PEBBLE_MGMT_PORT=$PEBBLE_MGMT_PORT
CERT_MANAGER_METRICS_PORT=$CERT_MANAGER_METRICS_PORT
TLS_DNS_SERVER=$TLS_DNS_SERVER
PEBBLE_BLOCKLIST=$PEBBLE_BLOCKLIST
EOF2
}

tls_preflight() {
  [[ $PEBBLE_BLOCKLIST =~ ^[a-z0-9.,-]*$ ]] ||
    die "PAGODA_PEBBLE_BLOCKLIST must be comma-separated DNS names; got '$PEBBLE_BLOCKLIST'"
  [[ $TLS_DNS_SERVER =~ ^[0-9.]+:[0-9]+$ ]] ||
    die "--tls needs PAGODA_TLS_DNS_SERVER=<ip>:<port>, the DNS server Pebble and cert-manager resolve challenge names through (local-cluster/dns-server.ts starts one); got '${TLS_DNS_SERVER}'"
  local c
  for c in "$INGRESS_TLS_PORT" "$INGRESS_HTTP01_PORT" "$PEBBLE_PORT" "$PEBBLE_MGMT_PORT" "$CERT_MANAGER_METRICS_PORT"; do
    if port_in_use "$c" && ! proc_running traefik && ! proc_running pebble && ! proc_running cert-manager; then
      die "port $c on 127.0.0.1 is in use (TLS tier: PAGODA_INGRESS_TLS_PORT, PAGODA_INGRESS_HTTP01_PORT, PAGODA_PEBBLE_PORT, PAGODA_PEBBLE_MGMT_PORT, PAGODA_CERT_MANAGER_METRICS_PORT)"
    fi
  done
}

# The CRDs ship inside the Go module, with Helm placeholders in their labels only.
cert_manager_crds() {
  local dir
  dir="$(go env GOMODCACHE)/github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION/deploy/crds"
  [[ -d $dir ]] || die "cert-manager's CRDs are missing from $dir"
  local f
  for f in "$dir"/crd-*.yaml; do
    echo "---"
    sed -e '/{{/d' -e '/^  labels:$/d' "$f"
  done
}

pebble_blocklist_json() {
  local out="" name
  local IFS=,
  for name in $PEBBLE_BLOCKLIST; do
    [[ -n $name ]] && out+="${out:+, }\"$name\""
  done
  echo "$out"
}

write_pebble_config() {
  mkdir -p "$TLS_DIR"
  issue_cert pebble "/CN=pebble" serverAuth "IP:127.0.0.1,DNS:localhost"
  cat >"$TLS_DIR/pebble.json" <<EOF2
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$PKI/pebble.crt",
    "privateKey": "$PKI/pebble.key",
    "httpPort": $INGRESS_PORT,
    "tlsPort": $INGRESS_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "domainBlocklist": [$(pebble_blocklist_json)],
    "retryAfter": {"authz": 1, "order": 1}
  }
}
EOF2
}

start_pebble() {
  # No random validation delays and no deliberately rejected nonces: the
  # local issuer should be quick and deterministic.
  start_proc pebble env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    "$PEBBLE_BIN" -config "$TLS_DIR/pebble.json" -dnsserver "$TLS_DNS_SERVER"
}

pebble_healthy() {
  curl -fsS --max-time 3 --cacert "$PKI/ca.crt" "https://127.0.0.1:$PEBBLE_PORT/dir" >/dev/null 2>&1
}

start_cert_manager() {
  start_proc cert-manager "$CERT_MANAGER_BIN" \
    --kubeconfig="$KUBECONFIG_PATH" \
    --leader-elect=false \
    --cluster-resource-namespace="$CERT_MANAGER_NAMESPACE" \
    --acme-http01-solver-image="$ACMESOLVER_IMAGE" \
    --acme-http01-solver-nameservers="$TLS_DNS_SERVER" \
    --metrics-listen-address="127.0.0.1:$CERT_MANAGER_METRICS_PORT" \
    --v=2
}

cert_manager_healthy() {
  curl -fsS --max-time 3 "http://127.0.0.1:$CERT_MANAGER_METRICS_PORT/metrics" >/dev/null 2>&1
}

cluster_issuer_ready() {
  [[ "$(kctl get clusterissuer "$CLUSTER_ISSUER" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

tls_setup() {
  cert_manager_crds | kctl apply --server-side --force-conflicts --field-manager=pagoda-cluster -f - >/dev/null ||
    die "applying cert-manager's CRDs failed"
  kctl wait --for=condition=Established --timeout="${TIMEOUT}s" \
    crd/certificates.cert-manager.io crd/certificaterequests.cert-manager.io crd/issuers.cert-manager.io \
    crd/clusterissuers.cert-manager.io crd/orders.acme.cert-manager.io crd/challenges.acme.cert-manager.io >/dev/null ||
    die "cert-manager's CRDs did not become Established"
  kctl apply -f - >/dev/null <<EOF2 || die "could not create the cert-manager namespace"
apiVersion: v1
kind: Namespace
metadata: {name: $CERT_MANAGER_NAMESPACE}
EOF2
}

apply_cluster_issuer() {
  kctl apply -f - >/dev/null <<EOF2 || die "could not create the ClusterIssuer $CLUSTER_ISSUER"
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: $CLUSTER_ISSUER}
spec:
  acme:
    server: https://127.0.0.1:$PEBBLE_PORT/dir
    caBundle: $(base64 -w0 "$PKI/ca.crt")
    email: admin@pagoda.test
    privateKeySecretRef: {name: $CLUSTER_ISSUER-account}
    solvers:
    - http01:
        ingress:
          class: traefik
          serviceType: ClusterIP
EOF2
}

tls_up() {
  tls_config
  save_tls_config
  PEBBLE_BIN=$(pebble_bin)
  CERT_MANAGER_BIN=$(cert_manager_bin)
  write_pebble_config
  ensure_started pebble start_pebble
  wait_until "Pebble's directory on https://127.0.0.1:$PEBBLE_PORT/dir" pebble pebble_healthy
  tls_setup
  ensure_started cert-manager start_cert_manager
  wait_until "cert-manager's metrics on 127.0.0.1:$CERT_MANAGER_METRICS_PORT" cert-manager cert_manager_healthy
  apply_cluster_issuer
  wait_until "ClusterIssuer $CLUSTER_ISSUER to be Ready (ACME account at Pebble)" cert-manager cluster_issuer_ready
  log "TLS tier up: HTTPS on https://127.0.0.1:$INGRESS_TLS_PORT, Pebble https://127.0.0.1:$PEBBLE_PORT/dir (roots: https://127.0.0.1:$PEBBLE_MGMT_PORT/roots/0), ClusterIssuer $CLUSTER_ISSUER, DNS $TLS_DNS_SERVER"
}

tls_down() {
  local failed=0
  stop_proc cert-manager || failed=1
  stop_proc pebble || failed=1
  return $failed
}
