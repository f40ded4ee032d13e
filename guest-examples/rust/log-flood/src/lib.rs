//! Misbehaves for tests: logs 3,000,000 characters in 100-character lines and writes 1,500,000
//! characters to stdout, more than the platform keeps, then answers "flooded".

use std::io::{self, Write};

use wafer_guest::{Context, Response};

const LOG_LINE_CHARS: usize = 100;
const LOG_TOTAL_CHARS: usize = 3_000_000;
/// Each stdout line is 99 characters and a newline.
const STDOUT_LINE_CHARS: usize = 100;
const STDOUT_TOTAL_CHARS: usize = 1_500_000;

fn handler(ctx: Context) -> Result<Response, io::Error> {
    for line in 0..LOG_TOTAL_CHARS / LOG_LINE_CHARS {
        // Numbered so that tests can tell which lines survived; padded to exactly 100 characters.
        ctx.log(format_args!(
            "{:.<LOG_LINE_CHARS$}",
            format!("log line {line} ")
        ));
    }
    flood_stdout()?;
    Ok(ctx.res.text("flooded"))
}

fn flood_stdout() -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    for line in 0..STDOUT_TOTAL_CHARS / STDOUT_LINE_CHARS {
        let text = format!("stdout line {line} ");
        writeln!(stdout, "{text:-<width$}", width = STDOUT_LINE_CHARS - 1)?;
    }
    stdout.flush()
}

wafer_guest::export_function!(handler);
