//! `oxq add --file`'s progress bar, through the built binary on both stores: drawn on stderr
//! when it is a terminal (a pseudo-terminal made by util-linux's `script`), never when stderr
//! is a pipe or with `--json`; and a file larger than one store call lands whole.

mod support;

use serde_json::json;
use support::Fixture;

on_both_stores!(a_bar_on_a_terminal_only);

/// Jobs in the file: more than two store calls' worth (`CHUNK` is 1,000).
const JOBS: usize = 2_500;

/// `text` quoted for `sh -c`.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `oxq --url URL ARGS` under `script`, whose pseudo-terminal is the child's stdin,
/// stdout and stderr; answers the exit code and everything the terminal showed.
fn on_a_terminal(fx: &Fixture, args: &[&str]) -> (Option<i32>, String) {
    let mut line = vec![
        quoted(env!("CARGO_BIN_EXE_oxq")),
        "--url".into(),
        quoted(&fx.url),
    ];
    line.extend(args.iter().map(|a| quoted(a)));
    let output = std::process::Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--command",
            &line.join(" "),
            "/dev/null",
        ])
        .current_dir(fx.dir())
        .env_remove("OXQ_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script(1) from util-linux");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn a_bar_on_a_terminal_only(fx: &Fixture) {
    let file = fx.path("many.jsonl");
    let lines: Vec<String> = (0..JOBS).map(|n| format!("{{\"n\":{n}}}")).collect();
    std::fs::write(&file, lines.join("\n")).expect("write file");
    let file = file.to_str().expect("path");

    let (code, screen) = on_a_terminal(fx, &["add", "--queue", "tty", "--file", file]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!("{JOBS}/{JOBS} jobs added")),
        "no finished bar on the terminal: {screen:?}"
    );
    assert!(
        screen.contains(&format!("added {JOBS} jobs to tty")),
        "{screen:?}"
    );

    let (code, screen) = on_a_terminal(fx, &["add", "--queue", "tty", "--file", file, "--json"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        !screen.contains("jobs added"),
        "a bar in --json mode: {screen:?}"
    );

    let run = fx.run(&["add", "--queue", "piped", "--file", file]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "", "stderr is a pipe: no bar");
    assert_eq!(run.stdout.trim(), format!("added {JOBS} jobs to piped"));

    assert_eq!(
        fx.json(&["counts", "--queue", "tty"])["waiting"],
        json!(2 * JOBS)
    );
    let first = fx.json(&["list", "waiting", "--queue", "piped", "--limit", "1"]);
    assert_eq!(first[0]["data"], json!({"n": 0}), "{first}");
}
