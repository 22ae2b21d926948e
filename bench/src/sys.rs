//! What the machine is, and where its CPU time goes during a phase.
//!
//! CPU time is read per thread from `/proc/self/task/*/stat` and grouped by
//! thread name: the server runtime's workers, the load generator's workers,
//! SQLite's connection threads (sqlx runs each SQLite connection on a thread
//! of its own), and the rest. `/proc/stat` gives the whole machine's busy
//! time, which shows how much other tenants took on a shared host.

use std::collections::BTreeMap;
use std::path::Path;

/// The thread-name prefix of the server runtime's workers.
pub const SERVER_THREADS: &str = "srv-rt";
/// The thread-name prefix of the load generator's workers.
pub const LOAD_THREADS: &str = "load-rt";

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// How many cores, and the CPU's model name.
pub fn cpus() -> (usize, String) {
    let model = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    (std::thread::available_parallelism().map_or(0, |n| n.get()), model)
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` says them.
pub fn load_average() -> String {
    read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The whole machine's CPU ticks, the first line of `/proc/stat`: user,
/// nice, system, idle, iowait, irq, softirq, steal, …
pub fn machine_ticks() -> Vec<u64> {
    read("/proc/stat").lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect()
}

/// The busy ones of [`machine_ticks`]: user, nice, system, irq, softirq.
pub fn busy_ticks(ticks: &[u64]) -> u64 {
    [0, 1, 2, 5, 6].iter().filter_map(|i| ticks.get(*i)).sum()
}

/// Facts about the machine, one per line.
pub fn machine_info(db_dir: &Path) -> Vec<(String, String)> {
    let (nproc, model) = cpus();
    let mem_kb = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned()))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let (fs, dev) = filesystem_of(db_dir);
    vec![
        ("nproc".into(), nproc.to_string()),
        ("CPU".into(), model),
        (
            "kernel".into(),
            format!("{} {}", read("/proc/sys/kernel/ostype").trim(), read("/proc/sys/kernel/osrelease").trim()),
        ),
        ("memory".into(), format!("{:.1} GiB", mem_kb as f64 / 1024.0 / 1024.0)),
        ("database dir".into(), format!("{} ({fs} on {dev})", db_dir.display())),
        ("source".into(), git_revision()),
        ("load average before start".into(), load_average()),
    ]
}

/// The commit the tree is at, and whether it has uncommitted changes.
fn git_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match (git(&["rev-parse", "--short", "HEAD"]), git(&["status", "--porcelain", "--untracked-files=no"])) {
        (Some(rev), Some(changes)) if !changes.is_empty() => format!("git {rev} with uncommitted changes"),
        (Some(rev), _) => format!("git {rev}"),
        _ => "unknown (not run from a git checkout)".into(),
    }
}

/// The filesystem type and device of the mount holding `path`.
fn filesystem_of(path: &Path) -> (String, String) {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut best: Option<(usize, String, String)> = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || !path.starts_with(f[1]) {
            continue;
        }
        if best.as_ref().is_none_or(|(len, _, _)| f[1].len() >= *len) {
            best = Some((f[1].len(), f[2].to_owned(), f[0].to_owned()));
        }
    }
    best.map_or(("unknown".into(), "unknown".into()), |(_, fs, dev)| (fs, dev))
}

/// CPU time so far, in ticks: per thread group of this process, and for the
/// whole machine.
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    threads: BTreeMap<i64, (String, u64)>,
    machine_busy: u64,
    machine_steal: u64,
}

/// CPU used between two snapshots, in cores (CPU-seconds per second).
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// Server runtime workers (HTTP, handlers, the writer task).
    pub server: f64,
    /// SQLite connection threads (statements, commits, fsync waits are not CPU).
    pub sqlite: f64,
    /// The load generator's workers.
    pub load: f64,
    /// Everything else in this process (the main thread).
    pub other: f64,
    /// The whole machine, every process.
    pub machine: f64,
    /// Time the hypervisor gave to other guests.
    pub steal: f64,
}

impl CpuSnapshot {
    /// Now.
    pub fn take() -> Self {
        let mut threads = BTreeMap::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                let Ok(tid) = entry.file_name().to_string_lossy().parse::<i64>() else { continue };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
                if let Some(t) = parse_thread_stat(&stat) {
                    threads.insert(tid, t);
                }
            }
        }
        let cpu = machine_ticks();
        Self { threads, machine_busy: busy_ticks(&cpu), machine_steal: cpu.get(7).copied().unwrap_or(0) }
    }

    /// What was used from `self` to `later`, over `secs` seconds.
    pub fn until(&self, later: &CpuSnapshot, secs: f64) -> CpuUse {
        let mut u = CpuUse::default();
        for (tid, (name, ticks)) in &later.threads {
            let before = self.threads.get(tid).map_or(0, |(_, t)| *t);
            let cores = ticks.saturating_sub(before) as f64 / TICKS_PER_SEC / secs;
            // The store's writer thread is part of the server.
            if name.starts_with(SERVER_THREADS) || name.starts_with("shouwang-writer") {
                u.server += cores;
            } else if name.starts_with(LOAD_THREADS) {
                u.load += cores;
            } else if name.starts_with("sqlx-sqlite") {
                u.sqlite += cores;
            } else {
                u.other += cores;
            }
        }
        u.machine = later.machine_busy.saturating_sub(self.machine_busy) as f64 / TICKS_PER_SEC / secs;
        u.steal = later.machine_steal.saturating_sub(self.machine_steal) as f64 / TICKS_PER_SEC / secs;
        u
    }
}

/// `(name, utime + stime)` from a `/proc/…/stat` line.
fn parse_thread_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_thread_stat_line_with_spaces_in_the_name() {
        let line = "123 (srv-rt w) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0";
        assert_eq!(parse_thread_stat(line), Some(("srv-rt w".into(), 300)));
    }
}
