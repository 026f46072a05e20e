#!/usr/bin/env bash
# Start a throwaway single-node Slurm cluster (munged + slurmctld + slurmd), everything under
# $SLURM_CI_DIR (default /tmp/slurmci), traffic on 127.0.0.1 only. Prints the line to eval:
#   eval "$(bash up.sh)"      # exports SLURM_CONF
# Used by tests/sweep_slurm.rs (with its own SLURM_CI_DIR and ports) and for trying the launcher by hand.
# Tested: Debian 12 (bookworm), slurm-wlm 22.05.8, munge 0.5.15, as root, no systemd (PID 1 is
# the sandbox's init), cgroup v1. Keep SLURM_CI_DIR under /tmp: munged runs as user munge, so
# every directory above it must be searchable by others (under /root, 0700, it fails).
set -euo pipefail
D=${SLURM_CI_DIR:-/tmp/slurmci}
CTLD_PORT=${SLURM_CI_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_CI_SLURMD_PORT:-6818}
# Fast turnaround for tests (set to "" to get Slurm's defaults: 120 s requeue hold, 60 s sched pass)
CRED_EXPIRE=${SLURM_CI_CRED_EXPIRE-10}
SCHED_PARAMS=${SLURM_CI_SCHED_PARAMS-sched_interval=1,bf_interval=1}

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # slurm-wlm would also pull slurm-wlm-plugins(-dev), hdf5, rrd, ... (43 packages); not needed.
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >&2
fi

if [ -f "$D/run/slurmctld.pid" ] && kill -0 "$(cat "$D/run/slurmctld.pid")" 2>/dev/null; then
  echo "up.sh: a cluster from $D is still running; run down.sh first" >&2
  exit 1
fi
rm -rf "$D"
mkdir -p "$D"/etc "$D"/state "$D"/spool/slurmd "$D"/log "$D"/run "$D"/munge

# --- munge: own key, socket and pid file under $D (nothing in /etc or /run is touched) -------
# munged insists: key 0400/0600 owned by its user; socket dir executable by all (0711 or 0755).
chown munge:munge "$D/munge"
chmod 0711 "$D/munge"
mungekey --create --force --keyfile="$D/munge/munge.key"
chown munge:munge "$D/munge/munge.key"
chmod 0400 "$D/munge/munge.key"
runuser -u munge -- munged \
  --key-file="$D/munge/munge.key" --socket="$D/munge/munge.sock" \
  --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" \
  --seed-file="$D/munge/munged.seed"
munge -n -S "$D/munge/munge.sock" | unmunge -S "$D/munge/munge.sock" >/dev/null

# --- slurm.conf ----------------------------------------------------------------------------
H=$(hostname -s)
# Node line from the hardware slurmd sees (sockets/cores/threads), memory lowered to 80% of
# MemAvailable: a RealMemory above what slurmd measures would leave the node INVALID/drained.
MEM=$(awk '/MemAvailable/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
NODE=$(slurmd -C 2>/dev/null | head -n 1 | sed -E "s/RealMemory=[0-9]+/RealMemory=$MEM/")
case $NODE in NodeName=*) ;; *) NODE="NodeName=$H CPUs=$(nproc) RealMemory=$MEM" ;; esac
cat > "$D/etc/slurm.conf" <<EOF
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.sock${CRED_EXPIRE:+,cred_expire=$CRED_EXPIRE}
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/slurmd
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
${SCHED_PARAMS:+SchedulerParameters=$SCHED_PARAMS}
# finished jobs stay visible to scontrol/squeue for 5 min (no sacct without accounting)
MinJobAge=300
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$D/etc/slurm.conf"

# --- daemons (they fork and write their pid files) -----------------------------------------
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

for _ in $(seq 1 120); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
if [ "$state" != idle ]; then
  echo "up.sh: node not idle after 60 s (state: '${state:-none}')" >&2
  tail -n 20 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
  exit 1
fi
echo "export SLURM_CONF=$SLURM_CONF"
