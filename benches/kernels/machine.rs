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
