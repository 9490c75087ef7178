# shellcheck shell=bash
# Background processes with pid files. Each process runs in its own session so
# it outlives the shell that ran `up`; every pid is checked against the state
# dir before it is signalled, so a recycled pid is never killed by mistake.

pid_of() { [[ -f "$RUN/$1.pid" ]] && cat "$RUN/$1.pid"; }

# True when the pid file names a live process that was started for this state dir.
proc_running() {
  local pid environ _
  pid=$(pid_of "$1" 2>/dev/null) || return 1
  # Up to 5 s: only a process that exists with an empty environ waits that long.
  for _ in $(seq 1 50); do
    [[ -n $pid && -d /proc/$pid ]] || return 1
    # A zombie still has a /proc entry but is no longer running.
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
    # Read whole, then matched: `tr | grep -q` under pipefail fails when grep
    # stops reading first. An empty read is a process caught in its exec (a
    # busy machine makes that window long): it counted as gone once, which
    # failed a start and left the process running. Look again instead; 0.5 s
    # of looking was not enough while a test run started (a controller
    # manager and a scheduler, each with an empty log, were taken for gone).
    environ=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || environ=""
    if [[ -n $environ ]]; then
      grep -qxF "PAGODA_OWNER=$STATE" <<<"$environ"
      return
    fi
    sleep 0.1
  done
  return 1
}

# start_proc <component> <binary> <args...>
start_proc() {
  local comp=$1; shift
  mkdir -p "$RUN" "$LOGS"
  rm -f "$RUN/$comp.pid"
  # The marker variable ties the process to this state dir (see proc_running);
  # bash writes its own pid then execs, so the pid file names the real process.
  # shellcheck disable=SC2016 # expanded by the inner shell
  PAGODA_OWNER="$STATE" setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' \
    "$RUN/$comp.pid" "$@" >>"$LOGS/$comp.log" 2>&1 </dev/null &

  for _ in $(seq 1 100); do
    [[ -s "$RUN/$comp.pid" ]] && break
    sleep 0.05
  done
  [[ -s "$RUN/$comp.pid" ]] || fail_with_log "$comp" "$comp did not start (no pid file written)"
  STARTED_COMPONENTS+=("$comp")
}

# ensure_started <component> <start function>
ensure_started() {
  local comp=$1 fn=$2
  if proc_running "$comp"; then
    STARTED_COMPONENTS+=("$comp")
    return 0
  fi
  log "starting $comp"
  "$fn"
}

# Stops a component: TERM, wait, then KILL; confirms the process is gone.
stop_proc() {
  local comp=$1 pid
  if ! proc_running "$comp"; then
    rm -f "$RUN/$comp.pid"
    return 0
  fi
  pid=$(pid_of "$comp")
  log "stopping $comp (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true

  for _ in $(seq 1 150); do
    proc_running "$comp" || break
    sleep 0.1
  done
  if proc_running "$comp"; then
    log "$comp ignored SIGTERM for 15s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      proc_running "$comp" || break
      sleep 0.1
    done
  fi
  if proc_running "$comp"; then
    echo "pagoda-cluster: error: $comp (pid $pid) is still running" >&2
    return 1
  fi
  rm -f "$RUN/$comp.pid"
}

port_in_use() {
  local port=$1
  if command -v ss >/dev/null; then
    ss -Htln "sport = :$port" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}
