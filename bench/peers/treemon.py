"""treemon.py OUT -- CMD [ARG...]: run CMD and measure it, for scripts/bench.sh.

Writes OUT, one "key value" per line:

  seconds      wall time from just before CMD starts to its exit
  rc           CMD's exit status (128+N if a signal N ended it)
  tree_rss_kb  peak over the samples of the SUM of VmRSS of CMD and all its descendants
               (every process whose parent chain leads to CMD), sampled every INTERVAL
               seconds (PG2MD_TREEMON_INTERVAL, default 0.1) from /proc/PID/stat (its rss); shared pages
               (libraries, a file mapped by two processes) are counted once per process.
               The PostgreSQL server's backends are not descendants and are not included.
  max_proc_rss_kb  the largest single process's ru_maxrss (getrusage RUSAGE_CHILDREN: exact,
               not sampled), i.e. what /usr/bin/time -v reports
  procs        how many distinct processes the samples saw
  client_cpu_s user+system CPU seconds of CMD and its descendants (RUSAGE_CHILDREN; exact)
  machine_busy_s  busy core-seconds of the whole machine over the run: the change of
               user+nice+system+irq+softirq+steal of the "cpu" line of /proc/stat, divided by
               USER_HZ — CMD, the PostgreSQL server, this monitor and anything else running
  machine_idle_s  idle+iowait core-seconds over the run (the machine's unused capacity)
  server_cpu_s user+system CPU seconds of the PostgreSQL server over the run, when
               PG2MD_TREEMON_PGPID names its postmaster: the change of the postmaster's own and
               reaped children's times plus its live children's times (exact: backends that
               end during the run are counted when the postmaster reaps them); unlike
               machine_busy_s it does not count other jobs on the machine

The monitor itself costs about 2-3 % of one core at the default interval (it is in machine_busy_s).
"""
import os
import resource
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, idle + iowait


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss(root: int, seen: set) -> int:
    parent = {}
    rss = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        # pid (comm) state ppid … rss is field 24; comm may hold spaces and parentheses
        fields = s[s.rindex(b")") + 2:].split()
        parent[int(d)] = int(fields[1])
        rss[int(d)] = int(fields[21]) * PAGE_KB
    total = 0
    for pid in parent:
        p, hops = pid, 0
        while p and p != root and hops < 64:
            p = parent.get(p, 0)
            hops += 1
        if p == root:
            total += rss[pid]
            seen.add(pid)
    return total


def server_cpu(pm: int) -> float:
    """CPU seconds of postmaster PM and all its children, live and reaped."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        v = s[s.rindex(b")") + 2:].split()
        pid, ppid = int(d), int(v[1])
        if pid == pm:
            total += int(v[11]) + int(v[12]) + int(v[13]) + int(v[14])  # utime stime cutime cstime
        elif ppid == pm:
            total += int(v[11]) + int(v[12])
    return total / HZ


def main() -> None:
    out = sys.argv[1]
    assert sys.argv[2] == "--"
    cmd = sys.argv[3:]
    interval = float(os.environ.get("PG2MD_TREEMON_INTERVAL", "0.1"))
    seen: set = set()
    pm = int(os.environ.get("PG2MD_TREEMON_PGPID", "0") or 0)
    s0 = server_cpu(pm) if pm else 0.0
    b0, i0 = cpu_times()
    t0 = time.monotonic()
    child = subprocess.Popen(cmd)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid, seen))
        time.sleep(interval)
    t1 = time.monotonic()
    b1, i1 = cpu_times()
    s1 = server_cpu(pm) if pm else 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = child.returncode
    if rc < 0:
        rc = 128 - rc
    with open(out, "w") as f:
        f.write(f"seconds {t1 - t0:.3f}\n")
        f.write(f"rc {rc}\n")
        f.write(f"tree_rss_kb {peak}\n")
        f.write(f"max_proc_rss_kb {ru.ru_maxrss}\n")
        f.write(f"procs {len(seen)}\n")
        f.write(f"client_cpu_s {ru.ru_utime + ru.ru_stime:.2f}\n")
        f.write(f"machine_busy_s {(b1 - b0) / HZ:.2f}\n")
        f.write(f"machine_idle_s {(i1 - i0) / HZ:.2f}\n")
        f.write(f"server_cpu_s {s1 - s0:.2f}\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
