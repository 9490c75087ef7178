# shellcheck shell=bash
# Cluster CA, component certificates and kubeconfigs, made once per state dir.
# EC P-256 keys: generated in milliseconds, accepted by every component.

new_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }

# issue_cert <name> <subject> <extendedKeyUsage> [subjectAltName]
issue_cert() {
  local name=$1 subj=$2 eku=$3 san=${4:-}
  [[ -f "$PKI/$name.crt" && -f "$PKI/$name.key" ]] && return 0
  new_key "$PKI/$name.key"
  local ext="$PKI/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null ||
    die "openssl could not create a CSR for $name"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null ||
    die "openssl could not sign the certificate for $name"
  rm -f "$PKI/$name.csr" "$ext"
}

ensure_pki() {
  command -v openssl >/dev/null || die "openssl is required (apt-get install openssl)"
  mkdir -p "$PKI" "$PKI/generated"
  chmod 700 "$PKI"
  if [[ ! -f "$PKI/ca.crt" ]]; then
    new_key "$PKI/ca.key"
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=pagoda-local-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt" 2>/dev/null || die "openssl could not create the cluster CA"
  fi
  # The first address of the service range is the in-cluster `kubernetes` Service.
  local svc_ip
  svc_ip=$(first_service_ip "$SERVICE_CIDR")
  issue_cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:$svc_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert etcd-server "/CN=etcd" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
  issue_cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  issue_cert admin "/O=system:masters/CN=pagoda-admin" clientAuth
  issue_cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  issue_cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
  if [[ ! -f "$PKI/sa.key" ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null || die "openssl could not create the service-account key"
    chmod 600 "$PKI/sa.key"
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
}

first_service_ip() {
  local net=${1%/*}
  local a b c d
  IFS=. read -r a b c d <<<"$net"
  echo "$a.$b.$c.$((d + 1))"
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig <file> <user> <cert name>
write_kubeconfig() {
  local file=$1 user=$2 cert=$3
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: pagoda
  cluster:
    server: $(api_url)
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$PKI/$cert.crt")
    client-key-data: $(b64 "$PKI/$cert.key")
contexts:
- name: pagoda
  context:
    cluster: pagoda
    user: $user
    namespace: default
current-context: pagoda

EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

write_kubeconfigs() {
  write_kubeconfig "$KUBECONFIG_PATH" pagoda-admin admin
  write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  write_kubeconfig "$STATE/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
}
