//! The run manifest (`manifest.json`): what machine, toolchain, commit and
//! options produced a set of results.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// Where and how a benchmark run was made. Serialized field by field, in
/// this order, as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Run identifier (the output directory's name).
    pub run: String,
    /// When the manifest was collected, RFC 3339 in UTC (`2025-01-31T12:00:00Z`).
    pub created: String,
    /// `git rev-parse HEAD` of the working directory, if it is a git checkout.
    pub git_commit: Option<String>,
    /// `rustc -V`, if rustc is on the PATH.
    pub rustc: Option<String>,
    /// CPU model name from `/proc/cpuinfo`, where available.
    pub cpu: Option<String>,
    /// Hardware threads available to the process (`available_parallelism`).
    pub cores: usize,
    /// Operating system and architecture, with distribution and kernel where known.
    pub os: String,
    /// The benchmark's options, in the order given (`name`, `value`).
    #[serde(serialize_with = "as_object")]
    pub options: Vec<(String, String)>,
    /// Free-form notes (caveats, warnings such as an uncommitted working tree).
    pub notes: Vec<String>,
}

/// Collects a manifest for the current machine and working directory.
///
/// Nothing here fails: facts that cannot be found are `None` (or a plain
/// fallback). If the git working tree has uncommitted changes, a note saying
/// so is appended to `notes`.
pub fn collect(run: &str, options: Vec<(String, String)>, mut notes: Vec<String>) -> Manifest {
    let git_commit = command_output("git", &["rev-parse", "HEAD"]);
    if git_commit.is_some() {
        if let Some(status) = command_output_raw("git", &["status", "--porcelain"]) {
            if status.lines().any(|l| !l.starts_with("??")) {
                notes.push("git working tree has uncommitted changes to tracked files".into());
            }
        }
    }
    Manifest {
        run: run.to_string(),
        created: rfc3339_utc(SystemTime::now()),
        git_commit,
        rustc: command_output("rustc", &["-V"]),
        cpu: cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: os_description(),
        options,
        notes,
    }
}

impl Manifest {
    /// The manifest as pretty-printed JSON (an object; `options` is an
    /// object keeping the given order, absent facts are `null`), with a
    /// final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest is plain JSON");
        s.push('\n');
        s
    }

    /// Writes [`Manifest::to_json`] to `path` (created or truncated).
    pub fn write_json(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.to_json())
    }
}

/// Serializes `(name, value)` pairs as a JSON object, in their order.
fn as_object<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

fn command_output_raw(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let s = command_output_raw(program, args)?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    // x86: "model name"; some ARM kernels: "Model" or "Hardware".
    for key in ["model name", "Model", "Hardware", "cpu model"] {
        for line in info.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == key && !v.trim().is_empty() {
                    return Some(v.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
        }
    }
    None
}

fn os_description() -> String {
    let mut s = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    let distro = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim().trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    match (distro, kernel) {
        (Some(d), Some(k)) => {
            let _ = write!(s, " ({d}, kernel {k})");
        }
        (Some(d), None) => {
            let _ = write!(s, " ({d})");
        }
        (None, Some(k)) => {
            let _ = write!(s, " (kernel {k})");
        }
        (None, None) => {}
    }
    s
}

/// Formats `t` as RFC 3339 in UTC with second precision.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day 2000
        assert_eq!(rfc3339_utc(t), "2000-02-29T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339_utc(t), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn collect_finds_machine_facts() {
        let m = collect("run-x", vec![("threads".into(), "1,2,4".into())], vec![]);
        assert_eq!(m.run, "run-x");
        assert!(m.cores >= 1);
        assert!(
            m.created.ends_with('Z') && m.created.len() == 20,
            "{}",
            m.created
        );
        assert!(m.os.starts_with(std::env::consts::OS));
        if let Some(r) = &m.rustc {
            assert!(r.starts_with("rustc "), "{r}");
        }
        if let Some(c) = &m.git_commit {
            assert!(
                c.len() >= 40 && c.chars().all(|c| c.is_ascii_hexdigit()),
                "{c}"
            );
        }
    }

    #[test]
    fn json_is_valid_and_escaped() {
        let m = Manifest {
            run: "r\"1\"".into(),
            created: "2025-01-01T00:00:00Z".into(),
            git_commit: None,
            rustc: Some("rustc 1.85.0 (4d91de4e4 2025-02-17)".into()),
            cpu: Some("CPU \\ with\tcontrol\u{1}".into()),
            cores: 2,
            os: "linux x86_64".into(),
            options: vec![
                ("threads".into(), "1,2,4".into()),
                ("note".into(), "line1\nline2 \u{2028} µs".into()),
            ],
            notes: vec!["a \"quoted\" note".into()],
        };
        let json = m.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).expect(&json);
        assert_eq!(v["run"], "r\"1\"");
        assert!(v["git_commit"].is_null());
        assert_eq!(v["cpu"], "CPU \\ with\tcontrol\u{1}");
        assert_eq!(v["cores"], 2);
        assert_eq!(v["options"]["note"], "line1\nline2 \u{2028} µs");
        assert_eq!(v["notes"][0], "a \"quoted\" note");
        // Empty collections are valid too.
        let empty = Manifest {
            options: vec![],
            notes: vec![],
            ..m
        };
        let v: serde_json::Value = serde_json::from_str(&empty.to_json()).unwrap();
        assert!(v["options"].as_object().unwrap().is_empty());
        assert!(v["notes"].as_array().unwrap().is_empty());
        // The layout is the one the hand-written writer had: two-space
        // indentation, fields in declaration order, options in their order.
        let small = Manifest {
            run: "r1".into(),
            cpu: None,
            options: vec![
                ("threads".into(), "1,2".into()),
                ("seed".into(), "42".into()),
            ],
            notes: vec!["a \"note\"".into()],
            ..empty.clone()
        };
        assert_eq!(
            small.to_json(),
            r#"{
  "run": "r1",
  "created": "2025-01-01T00:00:00Z",
  "git_commit": null,
  "rustc": "rustc 1.85.0 (4d91de4e4 2025-02-17)",
  "cpu": null,
  "cores": 2,
  "os": "linux x86_64",
  "options": {
    "threads": "1,2",
    "seed": "42"
  },
  "notes": [
    "a \"note\""
  ]
}
"#
        );
        assert!(empty
            .to_json()
            .contains("  \"options\": {},\n  \"notes\": []\n}\n"));
        // write_json writes the same text.
        let path = std::env::temp_dir().join(format!("manifest-{}.json", std::process::id()));
        empty.write_json(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), empty.to_json());
        std::fs::remove_file(&path).unwrap();
    }
}
