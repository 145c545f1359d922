#!/usr/bin/env bash
# A single-node SLURM cluster on this host, for running and testing sweeps through a real
# scheduler (README "Running on a cluster"). Needs root and Debian's packages; no systemd.
#
#   bash scripts/slurm_local.sh up       # install if missing, configure, start; waits until idle
#   bash scripts/slurm_local.sh down     # stop the daemons (state and queue are kept)
#   bash scripts/slurm_local.sh status   # exit 0 when the node takes jobs
#
# `up` is idempotent: it installs slurm-wlm and munge with apt-get when they are missing, creates
# the munge key once, writes /etc/slurm/slurm.conf from conf/slurm/slurm.conf.template (this
# host's name, CPUs and 90% of its memory), and starts munged, slurmctld and slurmd unless they
# already run. State lives under $HEXSCALE_SLURM_STATE (default /var/spool/hexscale-slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${HEXSCALE_SLURM_STATE:-/var/spool/hexscale-slurm}
CONF=/etc/slurm/slurm.conf
TEMPLATE=conf/slurm/slurm.conf.template

die() { echo "slurm_local: $*" >&2; exit 1; }

running() {  # running PIDFILE: the daemon whose pid the file holds is alive (not a zombie)
  local state
  [ -s "$1" ] || return 1
  state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && return
  [ "$(id -u)" = 0 ] || die "installing slurm-wlm needs root"
  echo "slurm_local: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
  local host cpus memory_mb
  host=$(hostname -s)
  cpus=$(nproc)
  memory_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
  sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEMORY_MB@|$memory_mb|g" \
    -e "s|@STATE@|$STATE|g" "$TEMPLATE" >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  running /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged
}

wait_idle() {  # the node takes jobs within 60 s, else the daemons' log tails
  local state
  for _ in $(seq 120); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
    case "$state" in
      idle | mixed | allocated | completing) echo "slurm_local: up ($(hostname -s): $state)"; return ;;
      down* | drain* | unknown*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  tail -n 5 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
  die "the node is not idle after 60 s (state: ${state:-none})"
}

up() {
  install_packages
  write_config
  start_munge
  running "$STATE/slurmctld.pid" || slurmctld
  running "$STATE/slurmd.pid" || slurmd
  wait_idle
}

down() {  # stop our daemons by their pid files, slurmd first, each before the next
  local pidfile
  for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" /run/munge/munged.pid; do
    running "$pidfile" || continue
    kill "$(cat "$pidfile")"
    for _ in $(seq 50); do
      running "$pidfile" || break
      sleep 0.2
    done
  done
  echo "slurm_local: down"
}

status() {
  sinfo -h -N -o "%N %T %C" 2>/dev/null | grep -Eq " (idle|mixed|allocated|completing) " \
    || die "no local cluster up (bash scripts/slurm_local.sh up)"
  sinfo -N
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: bash scripts/slurm_local.sh up|down|status" ;;
esac
