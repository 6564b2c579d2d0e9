#!/usr/bin/env bash
# A real single-node Slurm (Debian's slurm-wlm, munge, MariaDB accounting) for the Slurm test.
#   .ci/slurm.sh up     install what is missing (root, apt), write the configs, start the daemons,
#                       wait until the node is idle
#   .ci/slurm.sh down   stop the daemons this script started (by their pid files)
# Runs as root without systemd; see the project's notes on Slurm on one machine.
set -euo pipefail

PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/slurmdbd.pid /run/mysqld/mysqld.pid /run/munge/munged.pid)

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    for _ in $(seq "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    echo "slurm.sh: $what did not come up within ${limit}s" >&2
    exit 1
}

up() {
    if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            munge slurmctld slurmd slurm-client slurmdbd mariadb-server >/dev/null
    fi
    local host cpus memory
    host=$(hostname -s)
    cpus=$(nproc)
    memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mkdir -p /run/munge /run/mysqld /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
    chown munge:munge /run/munge
    chown mysql:mysql /run/mysqld
    chown slurm:slurm /var/spool/slurmctld /var/log/slurm 2>/dev/null || true

    cat >/etc/slurm/slurm.conf <<EOF
ClusterName=gatelab
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
EOF
    chmod 600 /etc/slurm/slurmdbd.conf

    pgrep -F /run/munge/munged.pid >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged
    if ! pgrep -F /run/mysqld/mysqld.pid >/dev/null 2>&1; then
        mariadbd --user=mysql --pid-file=/run/mysqld/mysqld.pid >/var/log/slurm/mariadb.log 2>&1 &
    fi
    wait_for 60 MariaDB mariadb -e 'select 1'
    mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
                GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    pgrep -F /run/slurmdbd.pid >/dev/null 2>&1 || slurmdbd
    wait_for 60 slurmdbd sacctmgr -n show cluster
    pgrep -F /run/slurmctld.pid >/dev/null 2>&1 || slurmctld
    pgrep -F /run/slurmd.pid >/dev/null 2>&1 || slurmd
    wait_for 60 "an idle node" bash -c '[ "$(sinfo -h -o %T | head -1)" = idle ]'
    echo "slurm.sh: single-node Slurm up on $host ($cpus CPUs, ${memory} MB)"
}

down() {
    for pidfile in "${PIDS[@]}"; do
        if [ -f "$pidfile" ] && pid=$(cat "$pidfile") && kill "$pid" 2>/dev/null; then
            for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        fi
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
