//! Running the toolchains: their output as a spinner's message (or printed with `--verbose`),
//! and in full when they fail.

use std::io::{BufRead as _, BufReader, IsTerminal as _, Read};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::Options;
use super::detect::Project;
use super::js::js_paths;
use crate::error::CliError;

/// A program the build runs, for messages.
#[derive(Clone, Copy)]
pub(super) struct Tool {
    /// The command, as people would type it.
    pub(super) what: &'static str,
    /// What to do when the program is not there.
    pub(super) missing: &'static str,
    /// Its output names the function's files as the JavaScript SDK's build does.
    pub(super) js_paths: bool,
}

/// Runs toolchain programs under the spinner, keeping their output for when they fail.
pub(super) struct Runner {
    pub(super) spinner: ProgressBar,
    verbose: bool,
    /// The function's directory as the user named it, for paths in the tools' messages.
    dir: PathBuf,
}

/// How a program ended, and what it printed.
pub(super) struct Outcome {
    pub(super) status: ExitStatus,
    pub(super) transcript: Vec<String>,
}

impl Runner {
    pub(super) fn new(project: &Project, options: &Options) -> Self {
        let what = format!(
            "Building {} ({})",
            project.dir.display(),
            project.language.title()
        );
        let spinner = if options.quiet {
            ProgressBar::hidden()
        } else {
            if !std::io::stderr().is_terminal() {
                eprintln!("{what}…");
            }
            let spinner = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
            {
                spinner.set_style(style);
            }
            spinner.set_prefix(what);
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        };
        Self {
            spinner,
            verbose: options.verbose,
            dir: project.dir.clone(),
        }
    }

    /// A line for people, above the spinner.
    pub(super) fn note(&self, text: &str) {
        self.spinner.suspend(|| eprintln!("{text}"));
    }

    /// Runs `command` to its end. Each line of its stdout goes to `take_stdout` first (which
    /// returns whether it used it); the rest, with stderr, is the transcript. Fails only when the
    /// program cannot start.
    pub(super) fn run(
        &self,
        tool: &Tool,
        mut command: Command,
        mut take_stdout: impl FnMut(&str) -> bool,
    ) -> anyhow::Result<Outcome> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                CliError::Failed(format!(
                    "Cannot run {program} ({error}). {missing}",
                    missing = tool.missing
                ))
            })?;
        let stdout = child.stdout.take().context("the program's stdout")?;
        let stderr = child.stderr.take().context("the program's stderr")?;
        let transcript = Mutex::new(Vec::new());
        let keep = |line: String| {
            transcript
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for_each_line(stderr, |line| {
                    self.show(tool, &line);
                    keep(line);
                });
            });
            for_each_line(stdout, |line| {
                if !take_stdout(&line) {
                    self.show(tool, &line);
                    keep(line);
                }
            });
        });
        let status = child
            .wait()
            .with_context(|| format!("Waiting for {program}"))?;
        Ok(Outcome {
            status,
            transcript: transcript
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        })
    }

    /// A line of a program's output: the spinner's message, and printed with `--verbose`.
    fn show(&self, tool: &Tool, line: &str) {
        if self.verbose {
            let line = self.readable(tool, line);
            self.spinner.suspend(|| eprintln!("{line}"));
        }
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            self.spinner.set_message(trimmed.to_owned());
        }
    }

    /// A line of a program's output, for people.
    fn readable(&self, tool: &Tool, line: &str) -> String {
        if tool.js_paths {
            js_paths(line, &self.dir)
        } else {
            line.to_owned()
        }
    }
}

impl Outcome {
    /// Success, or the program's output on stderr and a failure.
    pub(super) fn check(self, runner: &Runner, tool: &Tool) -> anyhow::Result<()> {
        if self.status.success() {
            return Ok(());
        }
        runner.spinner.finish_and_clear();
        if !runner.verbose {
            for line in &self.transcript {
                eprintln!("{}", runner.readable(tool, line));
            }
        }
        let status = match self.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed".to_owned(),
        };
        Err(CliError::Failed(format!(
            "The build of {} failed: `{}` {status}; its output is above.",
            runner.dir.display(),
            tool.what
        ))
        .into())
    }
}

/// Calls `each` with every line `reader` gives (lossy UTF-8, without the line ending).
fn for_each_line(reader: impl Read, mut each: impl FnMut(String)) {
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                each(line.trim_end_matches(['\n', '\r']).to_owned());
            }
        }
    }
}
