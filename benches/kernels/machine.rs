//! What machine a benchmark ran on, for the tables it prints (shared through `#[path]` by the
//! benchmark examples).

/// The CPU model as `/proc/cpuinfo` names it, or "unknown CPU".
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim()));
    model.unwrap_or("unknown CPU").to_string()
}

/// The next command-line argument as a count (at least 1), for option `option`.
#[allow(dead_code)] // not every program that includes this file takes options
pub fn count_argument(args: &mut impl Iterator<Item = String>, option: &str) -> Result<usize, String> {
    let value = args.next().ok_or(format!("{option} needs a number"))?;
    Ok(value.parse::<usize>().map_err(|e| format!("{option}: {e}"))?.max(1))
}

/// The thread counts of `--threads LIST` (`1,2`).
#[allow(dead_code)]
pub fn thread_counts(args: &mut impl Iterator<Item = String>) -> Result<Vec<usize>, String> {
    let list = args.next().ok_or("--threads needs a list such as 1,2")?;
    list.split(',').map(|t| t.trim().parse::<usize>().map_err(|e| format!("--threads: {e}"))).collect()
}

/// The last-level cache's size as sysfs gives it (`/sys/devices/system/cpu/cpu0/cache/index*`,
/// the highest level listed), in bytes; `None` where sysfs does not say.
#[allow(dead_code)]
pub fn last_level_cache_bytes() -> Option<usize> {
    let caches = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    let read = |dir: &std::path::Path, name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let sizes = caches.filter_map(|entry| {
        let dir = entry.ok()?.path();
        let level: u32 = read(&dir, "level")?.trim().parse().ok()?;
        let size = read(&dir, "size")?;
        let size = size.trim();
        let bytes = match size.strip_suffix('K') {
            Some(k) => k.parse::<usize>().ok()? << 10,
            None => match size.strip_suffix('M') {
                Some(m) => m.parse::<usize>().ok()? << 20,
                None => size.parse().ok()?,
            },
        };
        Some((level, bytes))
    });
    sizes.max().map(|(_, bytes)| bytes)
}

/// Read-only memory larger than the last-level cache, to be read between timings so that each
/// starts with the cache holding other data, as a training loop's forward and backward passes
/// leave it (`--cold`). A 16M-parameter step's arrays (64 MB each) fit in a large shared cache
/// (480 MiB on the development VM), where a probe rereading one array measures the cache.
#[allow(dead_code)]
pub struct CacheFlush {
    lines: Vec<u64>,
}

#[allow(dead_code)]
impl CacheFlush {
    /// Twice the last-level cache (1 GiB where sysfs does not say), every page written once.
    pub fn new() -> Self {
        let bytes = last_level_cache_bytes().map_or(1 << 30, |b| 2 * b);
        CacheFlush { lines: vec![1; bytes / 8] }
    }

    /// Reads one word of every cache line, on the current rayon pool.
    pub fn run(&self) {
        use rayon::prelude::*;
        let sum: u64 = self.lines.par_chunks(1 << 16).map(|c| c.iter().step_by(8).sum::<u64>()).sum();
        std::hint::black_box(sum);
    }
}
