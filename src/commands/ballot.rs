//! `recueil read-ballot`, `recueil forms print|generate-eval`,
//! `recueil eval ballots`, `recueil bench ballots`: the B1 paper form from
//! the command line.
//!
//! All are synchronous and CPU-bound (tesseract): call them from `main`
//! outside the async runtime, or through `spawn_blocking`.

use anyhow::{bail, Context, Result};
use recueil_core::Urn;
use recueil_scan::{eval, BallotScanner, ScanOptions};
use std::path::{Path, PathBuf};

/// `recueil read-ballot FILE [--json] [--crops DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct ReadBallotArgs {
    /// A scanned page or batch: PNG, JPEG, TIFF (one form per page) or PDF.
    /// A file with no form among its pages (20 at most) is read as one
    /// letter, as intake and the workers take it.
    pub file: PathBuf,
    /// Print `{"pages":[...]}` as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the free-text crop of each page sent to review as
    /// `DIR/<file stem>-p<page>.png`, for the reviewer.
    #[arg(long, value_name = "DIR")]
    pub crops: Option<PathBuf>,
    /// Page confidence below which the text goes to review.
    #[arg(long, default_value_t = recueil_scan::DEFAULT_REVIEW_BELOW)]
    pub review_below: f32,
}

/// `recueil forms print --urn ID [--count N] --out FILE.pdf|FILE.png`
#[derive(Debug, Clone, clap::Args)]
pub struct FormsPrintArgs {
    /// The urn's id, printed in the QR code as `RECUEIL:B1:<id>`.
    #[arg(long)]
    pub urn: Option<String>,
    /// Copies (pages of the PDF; a PNG holds one form).
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// `.pdf` (A5 pages, 300 dpi image) or `.png` (300 dpi grey).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Resolution of the raster.
    #[arg(long, default_value_t = 300)]
    pub dpi: u32,
}

/// `recueil forms generate-eval --out DIR`
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateEvalArgs {
    /// Where to write the pages and `truth.json` (the committed set is
    /// `fixtures/ballots`).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Generate this many photographed forms instead (phone photos of
    /// filled forms on a table: perspective, rotation, shadows, 1-3 MP
    /// JPEG), with their `truth.json`.
    #[arg(long, value_name = "N", conflicts_with = "letters")]
    pub photos: Option<usize>,
    /// Generate this many letters instead (sheets that are not forms,
    /// typed or in a print-like hand, scanned at 100-300 dpi), with their
    /// `truth.json`.
    #[arg(long, value_name = "N", conflicts_with = "letter_photos")]
    pub letters: Option<usize>,
    /// Generate this many photographed letters instead (the letters,
    /// photographed on a table as the forms of `--photos` are).
    #[arg(long, value_name = "N")]
    pub letter_photos: Option<usize>,
}

/// `recueil eval ballots DIR [--real DIR] [--json] [--check]`
#[derive(Debug, Clone, clap::Args)]
pub struct EvalBallotsArgs {
    /// An evaluation directory with `truth.json` (e.g. fixtures/ballots).
    pub dir: PathBuf,
    /// Real scans to measure as well: a folder holding `tapuscorpus/` and
    /// `testaments-de-poilus/` (e.g. fixtures/real/scans).
    #[arg(long, value_name = "DIR")]
    pub real: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero unless ticks are 100 % right, every ambiguous box is
    /// flagged and no unreliable text escapes review.
    #[arg(long)]
    pub check: bool,
    /// Also generate this many photographed forms (phone photos on a
    /// table, `recueil forms generate-eval --photos`) in a temporary
    /// folder and report them the same way. `--check` holds them to the
    /// same rules.
    #[arg(long, value_name = "N")]
    pub photos: Option<usize>,
    /// Also generate this many letters (`recueil forms generate-eval
    /// --letters`) and report them the same way: the published texts'
    /// error rate and the review rate of the free-page reader.
    #[arg(long, value_name = "N")]
    pub letters: Option<usize>,
    /// Also generate this many photographed letters (`recueil forms
    /// generate-eval --letter-photos`) and report them the same way.
    #[arg(long, value_name = "N")]
    pub letter_photos: Option<usize>,
}

/// `recueil bench ballots DIR [--limit N] [--real DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct BenchBallotsArgs {
    /// An evaluation directory with `truth.json`.
    pub dir: PathBuf,
    /// At most this many pages.
    #[arg(long, default_value_t = 12)]
    pub limit: usize,
    /// Also time the real typewritten pages under DIR (`tapuscorpus/`,
    /// e.g. fixtures/real/scans) read whole, beside the tesseract command
    /// line on the same files, with each one's character error rate.
    #[arg(long, value_name = "DIR")]
    pub real: Option<PathBuf>,
}

/// Subcommands of `recueil forms`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FormsCommand {
    /// The printable B1 form with an urn's QR code.
    Print(FormsPrintArgs),
    /// Render an evaluation set with its ground truth: filled, scanned
    /// forms, or phone photos of them, letters, photographed letters.
    GenerateEval(GenerateEvalArgs),
    /// Write a labelled corpus's texts on B1 forms in hand fonts, scan them
    /// and read them back with the ballot reader: the corpus as the
    /// classifier reads it from paper.
    Write(FormsWriteArgs),
}

/// `recueil forms write IN.tsv OUT.tsv`
#[derive(Debug, Clone, clap::Args)]
pub struct FormsWriteArgs {
    /// A labelled corpus (TSV: id, labels, text), e.g.
    /// fixtures/classify/heldout.tsv.
    pub input: PathBuf,
    /// Where to write the same rows with the text read back.
    pub output: PathBuf,
    /// Keep each form's scan here (PNG, named by the row's id).
    #[arg(long, value_name = "DIR")]
    pub scans: Option<PathBuf>,
}

pub fn run_forms(cmd: &FormsCommand) -> Result<()> {
    match cmd {
        FormsCommand::Print(a) => run_forms_print(a),
        FormsCommand::GenerateEval(a) => run_generate_eval(a),
        FormsCommand::Write(a) => run_forms_write(a),
    }
}

/// Each text on its own form, in the installed hand fonts in turn, read
/// back by the production reader. A text longer than the answer frame is
/// cut at its last rule, as on paper: the rows say how many were.
fn run_forms_write(args: &FormsWriteArgs) -> Result<()> {
    let name = args.input.display().to_string();
    let tsv =
        std::fs::read_to_string(&args.input).with_context(|| format!("cannot read {name}"))?;
    let examples =
        recueil_classify::parse_tsv(&tsv).with_context(|| format!("cannot parse {name}"))?;
    let writer = eval::FormWriter::new()?;
    let scanner = BallotScanner::new(ScanOptions::default());
    if let Some(dir) = &args.scans {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut out = String::from("id\tlabels\ttext\n");
    let (mut cut, mut review) = (0, 0);
    for (n, e) in examples.iter().enumerate() {
        let mut read = String::new();
        if !e.text.trim().is_empty() {
            let form = writer.write(&e.text, n as u64)?;
            if form.written.split_whitespace().count() < e.text.split_whitespace().count() {
                cut += 1;
            }
            if let Some(dir) = &args.scans {
                let path = dir.join(format!("{}.png", e.id));
                std::fs::write(&path, &form.png)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let pages = scanner
                .read_file(&form.png, &e.id)
                .with_context(|| format!("{}: cannot read the form back", e.id))?;
            let page = pages.first().context("a form has one page")?;
            review += usize::from(page.needs_review);
            read = page.text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        out.push_str(&format!("{}\t{}\t{read}\n", e.id, e.labels));
    }
    std::fs::write(&args.output, out)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!(
        "{}: {} texts written on forms and read back ({cut} cut at the frame's last rule, {review} pages the reader sent to review)",
        args.output.display(),
        examples.len()
    );
    Ok(())
}

pub fn run_read_ballot(args: &ReadBallotArgs) -> Result<()> {
    let name = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?;
    let scanner = BallotScanner::new(ScanOptions {
        review_below: args.review_below,
        ..Default::default()
    });
    let layout = recueil_scan::file_layout(&bytes, &name)
        .with_context(|| format!("cannot read the ballot {name}"))?;
    let pages = if layout.one_letter {
        scanner.read_whole(&bytes, &name).map(|letter| vec![letter])
    } else {
        scanner.read_file(&bytes, &name)
    }
    .with_context(|| format!("cannot read the ballot {name}"))?;
    if let Some(dir) = &args.crops {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let stem = args
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "page".into());
        for p in &pages {
            if let Some(png) = &p.text_crop_png {
                let path = dir.join(format!("{stem}-p{}.png", p.page));
                std::fs::write(&path, png)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::json!({ "pages": pages }));
    } else {
        for p in &pages {
            let list = |s: recueil_core::QuestionSet| {
                s.iter()
                    .map(|q| q.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let what = if layout.one_letter {
                format!("letter of {} sheets", layout.pages)
            } else {
                format!("page {}", p.page)
            };
            println!(
                "{what}: {}  ticked [{}]  ambiguous [{}]  urn {}  rotation {}°  confidence {:.2}{}",
                recueil_scan::kind_name(p.kind),
                list(p.ticked),
                list(p.ambiguous),
                p.urn.as_ref().map(|u| u.as_str()).unwrap_or("-"),
                p.rotation_deg,
                p.confidence,
                if p.needs_review { "  NEEDS REVIEW" } else { "" }
            );
            for r in &p.review_reasons {
                println!("  review: {r}");
            }
            if !p.text.is_empty() {
                println!("  {}", p.text.replace('\n', "\n  "));
            }
        }
    }
    Ok(())
}

pub fn run_forms_print(args: &FormsPrintArgs) -> Result<()> {
    let urn: Option<Urn> = args.urn.as_deref().map(str::parse).transpose()?;
    if !(72..=1200).contains(&args.dpi) {
        bail!("--dpi {} is out of range (72 to 1200)", args.dpi);
    }
    if args.count == 0 || args.count > 1000 {
        bail!("--count {} is out of range (1 to 1000)", args.count);
    }
    let img = recueil_scan::render_form(args.dpi as f32, urn.as_ref())?;
    let ext = args
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "pdf" => recueil_scan::pdf_bytes(&img, args.count)?,
        "png" => {
            if args.count > 1 {
                bail!(
                    "a PNG holds one form; use a .pdf for --count {}",
                    args.count
                );
            }
            recueil_scan::png_bytes(&img)?
        }
        _ => bail!(
            "{}: the output must end in .pdf or .png",
            args.out.display()
        ),
    };
    std::fs::write(&args.out, bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "{}: B1 form{}, {} page(s)",
        args.out.display(),
        urn.map(|u| format!(" for urn {}", u.as_str()))
            .unwrap_or_default(),
        if ext == "pdf" { args.count } else { 1 }
    );
    Ok(())
}

pub fn run_generate_eval(args: &GenerateEvalArgs) -> Result<()> {
    let s = match (args.photos, args.letters, args.letter_photos) {
        (Some(n), _, _) => eval::generate_photos(&args.out, n)?,
        (None, Some(n), _) => eval::generate_letters(&args.out, n)?,
        (None, None, Some(n)) => eval::generate_letter_photos(&args.out, n)?,
        (None, None, None) => eval::generate(&args.out)?,
    };
    eprintln!(
        "{}: {} files, {} pages, {} bytes",
        args.out.display(),
        s.files,
        s.pages,
        s.bytes
    );
    if !s.missing_fonts.is_empty() {
        eprintln!(
            "fonts not installed (skipped): {}",
            s.missing_fonts.join(", ")
        );
    }
    Ok(())
}

pub fn run_eval_ballots(args: &EvalBallotsArgs) -> Result<()> {
    let report = eval::evaluate(&args.dir, args.real.as_deref())
        .with_context(|| format!("cannot evaluate {}", args.dir.display()))?;
    if !args.json {
        print!("{report}");
    }
    type Generator = fn(&Path, usize) -> Result<eval::GenerateSummary, recueil_scan::ScanError>;
    let generated: [(&str, &str, Option<usize>, Generator); 3] = [
        (
            "photos",
            "photographed forms",
            args.photos,
            eval::generate_photos,
        ),
        ("letters", "letters", args.letters, eval::generate_letters),
        (
            "letter_photos",
            "photographed letters",
            args.letter_photos,
            eval::generate_letter_photos,
        ),
    ];
    let mut sets = Vec::new();
    for (key, what, count, generate) in generated {
        let Some(n) = count else { continue };
        let dir = tempfile::tempdir().context("cannot make a temporary folder")?;
        generate(dir.path(), n).with_context(|| format!("cannot generate the {what}"))?;
        let set = eval::evaluate(dir.path(), None)
            .with_context(|| format!("cannot evaluate the {what}"))?;
        if !args.json {
            println!("\n{what} ({n}, generated):");
            print!("{set}");
        }
        sets.push((key, set, dir));
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        for (key, set, _) in &sets {
            value[*key] = serde_json::to_value(set)?;
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    if args.check {
        check(&report, &args.dir)?;
        for (_, set, dir) in &sets {
            check(set, dir.path())?;
        }
    }
    Ok(())
}

fn check(r: &eval::EvalReport, dir: &Path) -> Result<()> {
    let mut failures = Vec::new();
    if r.ticks_correct != r.ticks_total {
        failures.push(format!(
            "tick accuracy {}/{}",
            r.ticks_correct, r.ticks_total
        ));
    }
    if r.ambiguous_flagged != r.ambiguous_total {
        failures.push(format!(
            "ambiguous flagged {}/{}",
            r.ambiguous_flagged, r.ambiguous_total
        ));
    }
    if !r.unreliable_published.is_empty() {
        failures.push(format!(
            "unreliable text not reviewed: {:?}",
            r.unreliable_published
        ));
    }
    if r.kind_correct != r.pages {
        failures.push(format!("page kinds {}/{}", r.kind_correct, r.pages));
    }
    if !failures.is_empty() {
        bail!("{}: {}", dir.display(), failures.join("; "));
    }
    Ok(())
}

pub fn run_bench_ballots(args: &BenchBallotsArgs) -> Result<()> {
    let mut report = eval::bench(&args.dir, args.limit)
        .with_context(|| format!("cannot benchmark on {}", args.dir.display()))?;
    if let Some(real) = &args.real {
        report.real = eval::bench_real(real)
            .with_context(|| format!("cannot benchmark the real pages of {}", real.display()))?;
    }
    print!("{report}");
    Ok(())
}
