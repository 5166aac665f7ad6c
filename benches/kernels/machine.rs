//! What machine a benchmark ran on, for the tables it prints (shared through `#[path]` by the
//! benchmark examples).

/// The CPU model as `/proc/cpuinfo` names it, or "unknown CPU".
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim()));
    model.unwrap_or("unknown CPU").to_string()
}
