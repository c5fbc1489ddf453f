//! Developer tool: `recueil-scan generate-eval DIR` regenerates the
//! evaluation set; `recueil-scan eval DIR [REAL_DIR]` measures the reader;
//! `recueil-scan bench DIR` compares throughput with the tesseract CLI.
//! The product's commands are `recueil forms ...` and `recueil eval ballots`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("generate-eval") if args.len() == 3 => {
            recueil_scan::eval::generate(Path::new(&args[2])).map(|s| {
                eprintln!(
                    "{} files, {} pages, {} bytes; missing fonts: {:?}",
                    s.files, s.pages, s.bytes, s.missing_fonts
                )
            })
        }
        Some("eval") if args.len() >= 3 => {
            recueil_scan::eval::evaluate(Path::new(&args[2]), args.get(3).map(Path::new)).map(|r| {
                for d in &r.details {
                    eprintln!("{:?}", d);
                }
                print!("{r}");
            })
        }
        Some("bench") if args.len() == 3 => {
            recueil_scan::eval::bench(Path::new(&args[2]), 12).map(|r| print!("{r}"))
        }
        _ => {
            eprintln!("usage: recueil-scan generate-eval DIR | eval DIR [REAL_DIR] | bench DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
